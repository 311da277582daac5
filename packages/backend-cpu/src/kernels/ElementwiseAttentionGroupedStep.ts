import { ElementwiseAttentionGroupedStep } from '@elementwise/attention';
import { groupedStepDims, type HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { groupedSeriesStep } from '../maths/grouped_step.js';
import { hostKernelConfig, type NamedKernelBody } from './heap_guarded_kernel.js';
import { stepRecord } from './record_kernel_body.js';

/**
 * Fused grouped recurrent step: inputs q, k, v [B,D], s [B,F,D], z [B,F,G]; outputs
 * [y, nextS, nextZ]. O(F·D) per sequence whatever the position, in one pass over the state;
 * laid out by hand for the reason ./ElementwiseAttentionStep.ts gives.
 */
const step: NamedKernelBody = (inputs, attrs) => {
  const { order, groupSize, batch, channels, stateShapes } = groupedStepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return {
    inputs: { q, k, v, s, z },
    outputShapes: { y: q.shape, nextS: stateShapes.s, nextZ: stateShapes.z },
    compute: (views) => groupedSeriesStep(stepRecord(views, { batch, channels, groupSize, order })),
  };
};

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionGroupedStep, step);

export const elementwiseAttentionGroupedStepCpuConfig = config('cpu');
export const elementwiseAttentionGroupedStepWasmConfig = config('wasm');
