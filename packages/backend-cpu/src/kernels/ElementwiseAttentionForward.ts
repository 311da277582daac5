import { ElementwiseAttentionForward } from '@elementwise/attention';
import {
  forwardDims,
  type HostBackendName,
  type KernelBody,
} from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactForward } from '../maths/exact.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';

/**
 * Fused forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ].
 * Series orders: one pass over the keys for the moments and one over the queries (causal: a
 * single pass with running moments). 'exact': the quadratic form; the empty state passes through.
 */
const forward =
  (backendName: HostBackendName): KernelBody =>
  (inputs, attrs) => {
    const { order, causal, dims } = forwardDims(attrs, inputs);
    const { q, k, v, mask, initialS, initialZ } = inputs;
    return {
      inputs: [q, k, v, mask, initialS, initialZ],
      outputShapes: [q.shape, initialS.shape, initialZ.shape],
      compute: ([qv, kv, vv, maskv, s0, z0], [y, finalS, finalZ]) => {
        if (order === 'exact') {
          exactForward({ q: qv, k: kv, v: vv, mask: maskv }, dims, causal, y);
          return;
        }
        const moments = { q: qv, k: kv, v: vv, mask: maskv, initialS: s0, initialZ: z0 };
        series(backendName).forward(moments, dims, order, causal, { y, finalS, finalZ });
      },
    };
  };

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionForward, forward(backendName), [
    'y',
    'finalS',
    'finalZ',
  ]);

export const elementwiseAttentionForwardCpuConfig = config('cpu');
export const elementwiseAttentionForwardWasmConfig = config('wasm');
