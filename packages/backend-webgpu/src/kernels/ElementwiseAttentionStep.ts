import {
  ElementwiseAttentionStep,
  type ElementwiseAttentionStepInputs,
} from '@elementwise/attention';
import { stepDims } from '@elementwise/attention/authoring';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { scanGeometry } from '../programs/geometry.js';
import { stepOutputProgram, stepStateProgram } from '../programs/series_programs.js';
import { run, type WebGPUBackend, webgpuKernel } from '../webgpu_backend.js';

/**
 * Fused recurrent step: inputs q, k, v [B, D], s, z [B, T, D]; outputs [y, s', z'].
 * Three dispatches of O(T·D) work per sequence, whatever the position.
 */
function step(
  webgpu: WebGPUBackend,
  { q, k, v, s, z }: ElementwiseAttentionStepInputs,
  { order, stateShape }: ReturnType<typeof stepDims>,
): TensorInfo[] {
  const geometry = scanGeometry(order);
  const y = run(webgpu, stepOutputProgram(geometry, q.shape), [q, k, v, s, z]);
  const sNext = run(webgpu, stepStateProgram(geometry, stateShape, 0), [k, v, s]);
  const zNext = run(webgpu, stepStateProgram(geometry, stateShape, 1), [k, z]);
  return [y, sNext, zNext];
}

export const elementwiseAttentionStepConfig = webgpuKernel(
  ElementwiseAttentionStep,
  stepDims,
  step,
);
