import {
  ElementwiseAttentionStep,
  expectShape,
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
  readOrder,
  stateSize,
} from '@elementwise/attention';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { seriesStep } from '../maths/series.js';

/**
 * Fused recurrent step: inputs q, k, v [B,D], s, z [B,T,D]; outputs [y, s', z'].
 * O(T·D) per sequence whatever the position.
 */
const step: KernelBody = (inputs, attrs) => {
  const order = readOrder(ElementwiseAttentionStep, attrs);
  if (order === 'exact') {
    throw new Error(`${ElementwiseAttentionStep}: order 'exact' has no recurrent form`);
  }
  const { q, k, v, s, z } = inputs;
  if (q.shape.length !== 2) {
    throw new Error(`${ElementwiseAttentionStep}: q must have shape [B, D]`);
  }
  const [batch, channels] = q.shape;
  const stateShape = [batch, stateSize(order), channels];
  expectShape(ElementwiseAttentionStep, 'k', k, q.shape);
  expectShape(ElementwiseAttentionStep, 'v', v, q.shape);
  expectShape(ElementwiseAttentionStep, 's', s, stateShape);
  expectShape(ElementwiseAttentionStep, 'z', z, stateShape);
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

const config = (backendName: HostBackendName): KernelConfig => ({
  kernelName: ElementwiseAttentionStep,
  backendName,
  kernelFunc: kernelFuncFor(backendName, ElementwiseAttentionStep, step),
});

export const elementwiseAttentionStepCpuConfig = config('cpu');
export const elementwiseAttentionStepWasmConfig = config('wasm');
