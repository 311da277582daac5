import { ElementwiseAttentionForward } from '@elementwise/attention';
import { forwardDims, type HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactForward } from '../maths/exact.js';
import { hostKernelConfig, type NamedKernelBody, namedPlan } from './heap_guarded_kernel.js';

/**
 * Fused forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ].
 * Series orders: one pass over the keys for the moments and one over the queries (causal: a
 * single pass with running moments). 'exact': the quadratic form; the empty state passes through.
 */
const forward =
  (backendName: HostBackendName): NamedKernelBody =>
  (inputs, attrs) => {
    const { order, causal, dims } = forwardDims(attrs, inputs);
    const { q, k, v, mask, initialS, initialZ } = inputs;
    return namedPlan({
      inputs: { q, k, v, mask, initialS, initialZ },
      outputShapes: { y: q.shape, finalS: initialS.shape, finalZ: initialZ.shape },
      compute: (views) => {
        const call = { ...views, ...dims, causal };
        if (order === 'exact') exactForward({ ...call, order });
        else series(backendName).forward({ ...call, order });
      },
    });
  };

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionForward, forward(backendName));

export const elementwiseAttentionForwardCpuConfig = config('cpu');
export const elementwiseAttentionForwardWasmConfig = config('wasm');
