import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/**
 * How the kernels reach tfjs's `webgpu` backend: run a program into a fresh float32 tensor, and
 * release intermediates. Only types are imported from `@tensorflow/tfjs-backend-webgpu`, so
 * importing this package never initialises WebGPU (in Node, `navigator.gpu` must be set first).
 */

export type { WebGPUBackend, WebGPUProgram };

/** Runs `program` on `inputs` and returns its float32 output. */
export function run(
  backend: WebGPUBackend,
  program: WebGPUProgram,
  inputs: TensorInfo[],
): TensorInfo {
  return backend.runWebGPUProgram(program, inputs, 'float32');
}

/** A float32 tensor with a zero-sized dimension (the `[B, 0, D]` state of `order: 'exact'`). */
export function emptyOutput(backend: WebGPUBackend, shape: number[]): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', new Float32Array(0));
}

/** Releases intermediates created by a kernel; they never leave it. */
export function release(backend: WebGPUBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}
