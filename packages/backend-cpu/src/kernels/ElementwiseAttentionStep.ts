import { ElementwiseAttentionStep } from '@elementwise/attention';
import { type HostBackendName, type KernelBody, stepDims } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { seriesStep } from '../maths/series.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';

/**
 * Fused recurrent step: inputs q, k, v [B,D], s, z [B,T,D]; outputs [y, s', z'].
 * O(T·D) per sequence whatever the position.
 */
const step: KernelBody = (inputs, attrs) => {
  const { order, batch, channels, stateShape } = stepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return {
    inputs: [q, k, v, s, z],
    outputShapes: [q.shape, stateShape, stateShape],
    compute: ([qv, kv, vv, sv, zv], [y, sNext, zNext]) => {
      seriesStep({ q: qv, k: kv, v: vv, s: sv, z: zv }, batch, channels, order, {
        y,
        s: sNext,
        z: zNext,
      });
    },
  };
};

const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionStep, step, ['y', 's', 'z']);

export const elementwiseAttentionStepCpuConfig = config('cpu');
export const elementwiseAttentionStepWasmConfig = config('wasm');
