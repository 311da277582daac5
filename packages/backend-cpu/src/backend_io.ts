import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * How a kernel reaches tensor memory on each backend it is registered for. The kernels are
 * written once against float32 views: `inputs` are read-only views of the input tensors and
 * `outputs` are fresh buffers the kernel fills completely.
 *
 * The backends are described structurally (only the methods used), so this package imports
 * neither backend and an app needs only the backend it runs.
 */

/** The tfjs backends this package registers kernels for. */
export type BackendName = 'cpu' | 'wasm';

/** Computes outputs from inputs; every element of every output must be written. */
export type Compute = (inputs: Float32Array[], outputs: Float32Array[]) => void;

/** Runs `compute` on a backend's memory and returns the output tensors. */
export type Runner = (
  backend: unknown,
  inputs: TensorInfo[],
  outputShapes: number[][],
  compute: Compute,
) => TensorInfo[];

/** The part of tfjs-backend-cpu's `MathBackendCPU` used here. */
interface CpuBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** The part of tfjs-backend-wasm's `BackendWasm` used here. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): ArrayLike<number>;
}

const size = (shape: readonly number[]) => shape.reduce((product, n) => product * n, 1);

/** A float32 view of `values`, copied only when the tensor holds another dtype. */
const asFloat32 = (values: ArrayLike<number>) =>
  values instanceof Float32Array ? values : Float32Array.from(values);

/** cpu: inputs are the backend's own arrays (zero-copy); outputs are handed over when filled. */
const runOnCpu: Runner = (backend, inputs, outputShapes, compute) => {
  const cpu = backend as CpuBackend;
  const views = inputs.map((info) => asFloat32(cpu.readSync(info.dataId)));
  const outputs = outputShapes.map((shape) => new Float32Array(size(shape)));
  compute(views, outputs);
  return outputShapes.map((shape, i) => cpu.makeTensorInfo(shape, 'float32', outputs[i]));
};

/**
 * wasm: inputs and outputs are views of the module's heap (zero-copy). Every output is
 * allocated before any view is taken, because an allocation may grow the heap and detach views.
 */
const runOnWasm: Runner = (backend, inputs, outputShapes, compute) => {
  const wasm = backend as WasmBackend;
  const outputs = outputShapes.map((shape) => wasm.makeOutput(shape, 'float32'));
  const view = (info: TensorInfo) =>
    size(info.shape) === 0 ? new Float32Array(0) : asFloat32(wasm.typedArrayFromHeap(info));
  compute(inputs.map(view), outputs.map(view));
  return outputs;
};

export const RUNNERS: Record<BackendName, Runner> = { cpu: runOnCpu, wasm: runOnWasm };

/** A kernel body independent of the backend: tensors in, `[outputShapes, compute]` out. */
export type KernelBody = (
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
) => { inputs: TensorInfo[]; outputShapes: number[][]; compute: Compute };

/** The tfjs `kernelFunc` of `body` on one backend. */
export function kernelFuncFor(backendName: BackendName, kernelName: string, body: KernelBody) {
  const run = RUNNERS[backendName];
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const plan = body(inputs as Record<string, TensorInfo>, attrs ?? {});
    for (const info of plan.inputs) {
      if (info == null) throw new Error(`${kernelName}: missing input`);
    }
    return run(backend, plan.inputs, plan.outputShapes, plan.compute);
  };
  return kernelFunc;
}
