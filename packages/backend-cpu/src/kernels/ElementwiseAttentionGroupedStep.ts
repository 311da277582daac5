import { ElementwiseAttentionGroupedStep } from '@elementwise/attention';
import {
  groupedStepDims,
  type HostBackendName,
  type KernelBody,
} from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { groupedSeriesStep } from '../maths/grouped_step.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';

/**
 * Fused grouped recurrent step: inputs q, k, v [B,D], s [B,F,D], z [B,F,G]; outputs [y, s', z'].
 * O(F·D) per sequence whatever the position, in one pass over the state.
 */
const step: KernelBody = (inputs, attrs) => {
  const { order, groupSize, batch, channels, stateShapes } = groupedStepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return {
    inputs: [q, k, v, s, z],
    outputShapes: [q.shape, stateShapes.s, stateShapes.z],
    compute: ([qv, kv, vv, sv, zv], [y, sNext, zNext]) => {
      groupedSeriesStep(
        { q: qv, k: kv, v: vv, s: sv, z: zv },
        { batch, channels, groupSize, order },
        { y, s: sNext, z: zNext },
      );
    },
  };
};

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionGroupedStep, step, ['y', 's', 'z']);

export const elementwiseAttentionGroupedStepCpuConfig = config('cpu');
export const elementwiseAttentionGroupedStepWasmConfig = config('wasm');
