import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * How the kernels reach tfjs's `webgpu` backend: register under its name, run a program into a
 * fresh float32 tensor, and release intermediates. Only types are imported from `@tensorflow/tfjs-backend-webgpu`, so
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

/**
 * The config of a kernel for tfjs `webgpu`: `check` validates the call against the contract
 * (`forwardDims`, … from `@elementwise/attention/authoring`) and `compute` receives the backend,
 * the inputs as the contract's named record and what `check` returned.
 */
export function webgpuKernel<Inputs, Call>(
  kernelName: string,
  check: (attrs: NamedAttrMap, inputs: Record<string, TensorInfo>) => Call,
  compute: (backend: WebGPUBackend, inputs: Inputs, call: Call) => TensorInfo[],
): KernelConfig {
  return {
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) =>
      compute(
        backend as WebGPUBackend,
        inputs as unknown as Inputs,
        check(attrs ?? {}, inputs as Record<string, TensorInfo>),
      ),
  };
}
