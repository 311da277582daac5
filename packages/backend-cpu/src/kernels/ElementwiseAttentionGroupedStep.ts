import { ElementwiseAttentionGroupedStep } from '@elementwise/attention';
import { groupedStepDims, type HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { groupedSeriesStep } from '../maths/grouped_step.js';
import { hostKernelConfig, type NamedKernelBody, namedPlan } from './heap_guarded_kernel.js';

/**
 * Fused grouped recurrent step: inputs q, k, v [B,D], s [B,F,D], z [B,F,G]; outputs [y, s', z'].
 * O(F·D) per sequence whatever the position, in one pass over the state.
 */
const step: NamedKernelBody = (inputs, attrs) => {
  const { order, groupSize, batch, channels, stateShapes } = groupedStepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return namedPlan({
    inputs: { q, k, v, s, z },
    outputShapes: { y: q.shape, nextS: stateShapes.s, nextZ: stateShapes.z },
    compute: (views) => groupedSeriesStep({ ...views, batch, channels, groupSize, order }),
  });
};

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionGroupedStep, step);

export const elementwiseAttentionGroupedStepCpuConfig = config('cpu');
export const elementwiseAttentionGroupedStepWasmConfig = config('wasm');
