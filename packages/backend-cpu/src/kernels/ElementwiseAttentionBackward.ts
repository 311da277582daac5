import { ElementwiseAttentionBackward } from '@elementwise/attention';
import { backwardDims, type HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactBackward } from '../maths/exact.js';
import { hostKernelConfig, type NamedKernelBody, namedPlan } from './heap_guarded_kernel.js';

/**
 * Fused backward: inputs the six forward inputs plus dy, dFinalS, dFinalZ; outputs
 * [dq, dk, dv, dInitialS, dInitialZ]. O(t·L·D) with O(T·D) scratch for series orders; exact EA
 * has no state, so its state gradients are empty.
 */
const backward =
  (backendName: HostBackendName): NamedKernelBody =>
  (inputs, attrs) => {
    const { order, causal, dims } = backwardDims(attrs, inputs);
    const { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ } = inputs;
    return namedPlan({
      inputs: { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ },
      outputShapes: {
        dq: q.shape,
        dk: k.shape,
        dv: v.shape,
        dInitialS: initialS.shape,
        dInitialZ: initialZ.shape,
      },
      compute: (views) => {
        const call = { ...views, ...dims, causal };
        if (order === 'exact') exactBackward({ ...call, order });
        else series(backendName).backward({ ...call, order });
      },
    });
  };

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionBackward, backward(backendName));

export const elementwiseAttentionBackwardCpuConfig = config('cpu');
export const elementwiseAttentionBackwardWasmConfig = config('wasm');
