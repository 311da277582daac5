import {
  ElementwiseAttentionStep,
  type ElementwiseAttentionStepInputs,
} from '@elementwise/attention';
import { stepDims } from '@elementwise/attention/authoring';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { scanGeometry } from '../programs/geometry.js';
import { stepOutputProgram, stepStateProgram } from '../programs/series_programs.js';
import { run, type WebGPUBackend } from '../webgpu_backend.js';

/**
 * Fused recurrent step: inputs q, k, v [B, D], s, z [B, T, D]; outputs [y, s', z'].
 * Three dispatches of O(T·D) work per sequence, whatever the position.
 */
const step: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = backend as WebGPUBackend;
  const { order, stateShape } = stepDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const { q, k, v, s, z } = inputs as unknown as ElementwiseAttentionStepInputs;
  const geometry = scanGeometry(order);
  const y = run(webgpu, stepOutputProgram(geometry, q.shape), [q, k, v, s, z]);
  const sNext = run(webgpu, stepStateProgram(geometry, stateShape, 0), [k, v, s]);
  const zNext = run(webgpu, stepStateProgram(geometry, stateShape, 1), [k, z]);
  return [y, sNext, zNext];
};

export const elementwiseAttentionStepConfig: KernelConfig = {
  kernelName: ElementwiseAttentionStep,
  backendName: 'webgpu',
  kernelFunc: step,
};
