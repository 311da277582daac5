import { ElementwiseAttentionBackward } from '@elementwise/attention';
import {
  backwardDims,
  type HostBackendName,
  type KernelBody,
} from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactBackward } from '../maths/exact.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';

/**
 * Fused backward: inputs the six forward inputs plus dy, dFinalS, dFinalZ; outputs
 * [dq, dk, dv, dInitialS, dInitialZ]. O(t·L·D) with O(T·D) scratch for series orders.
 */
const backward =
  (backendName: HostBackendName): KernelBody =>
  (inputs, attrs) => {
    const { order, causal, dims } = backwardDims(attrs, inputs);
    const { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ } = inputs;
    return {
      inputs: [q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ],
      outputShapes: [q.shape, k.shape, v.shape, initialS.shape, initialZ.shape],
      compute: (
        [qv, kv, vv, maskv, s0, z0, dyv, dsFinal, dzFinal],
        [dq, dk, dv, dInitialS, dInitialZ],
      ) => {
        if (order === 'exact') {
          // Exact EA has no state: its state tensors are empty.
          exactBackward({ q: qv, k: kv, v: vv, mask: maskv }, dyv, dims, causal, { dq, dk, dv });
          return;
        }
        series(backendName).backward(
          { q: qv, k: kv, v: vv, mask: maskv, initialS: s0, initialZ: z0 },
          { dy: dyv, dFinalS: dsFinal, dFinalZ: dzFinal },
          dims,
          order,
          causal,
          { dq, dk, dv, dInitialS, dInitialZ },
        );
      },
    };
  };

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionBackward, backward(backendName), [
    'dq',
    'dk',
    'dv',
    'dInitialS',
    'dInitialZ',
  ]);

export const elementwiseAttentionBackwardCpuConfig = config('cpu');
export const elementwiseAttentionBackwardWasmConfig = config('wasm');
