import { ElementwiseAttentionStep } from '@elementwise/attention';
import { type HostBackendName, stepDims } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { seriesStep } from '../maths/series.js';
import { hostKernelConfig, type NamedKernelBody, namedPlan } from './heap_guarded_kernel.js';

/**
 * Fused recurrent step: inputs q, k, v [B,D], s, z [B,T,D]; outputs [y, s', z'].
 * O(T·D) per sequence whatever the position.
 */
const step: NamedKernelBody = (inputs, attrs) => {
  const { order, batch, channels, stateShape } = stepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return namedPlan({
    inputs: { q, k, v, s, z },
    outputShapes: { y: q.shape, nextS: stateShape, nextZ: stateShape },
    compute: (views) => seriesStep({ ...views, batch, channels, order }),
  });
};

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionStep, step);

export const elementwiseAttentionStepCpuConfig = config('cpu');
export const elementwiseAttentionStepWasmConfig = config('wasm');
