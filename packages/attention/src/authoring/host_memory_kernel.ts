import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * For backend authors whose kernels compute on the host: how a kernel reaches tensor memory on
 * the tfjs backends that keep tensors in JS or WebAssembly memory. A kernel is written once
 * against float32 views (`inputs` read-only, `outputs` to be filled completely); each input is
 * read once and each output written once, zero-copy where the backend allows. The backends are
 * described structurally (only the methods used), so no backend package is imported.
 */

/** The tfjs backends whose tensor memory a host kernel can reach. */
export type HostBackendName = 'cpu' | 'wasm' | 'tensorflow';

/** Computes outputs from inputs; every element of every output must be written. */
export type Compute = (inputs: Float32Array[], outputs: Float32Array[]) => void;

/** Runs `compute` on a backend's memory and returns the output tensors. */
type Runner = (
  backend: unknown,
  inputs: TensorInfo[],
  outputShapes: number[][],
  compute: Compute,
) => TensorInfo[];

/** tfjs-backend-cpu's `MathBackendCPU`. */
interface CpuBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** tfjs-backend-wasm's `BackendWasm`. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): ArrayLike<number>;
}

/** tfjs-node's `NodeJSKernelBackend` (backend name 'tensorflow'). */
interface TensorflowBackend {
  readSync(dataId: object): ArrayLike<number>;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
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

/** tensorflow (tfjs-node): one read per input, one `write` per output. */
const runOnTensorflow: Runner = (backend, inputs, outputShapes, compute) => {
  const tf = backend as TensorflowBackend;
  const views = inputs.map((info) => asFloat32(tf.readSync(info.dataId)));
  const outputs = outputShapes.map((shape) => new Float32Array(size(shape)));
  compute(views, outputs);
  return outputShapes.map((shape, i) => ({
    dataId: tf.write(outputs[i], shape, 'float32'),
    shape,
    dtype: 'float32' as const,
  }));
};

const RUNNERS: Record<HostBackendName, Runner> = {
  cpu: runOnCpu,
  wasm: runOnWasm,
  tensorflow: runOnTensorflow,
};

/** A kernel body independent of the backend: tensors in, `[outputShapes, compute]` out. */
export type KernelBody = (
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
) => { inputs: TensorInfo[]; outputShapes: number[][]; compute: Compute };

/** The tfjs `kernelFunc` of `body` on one backend. */
export function kernelFuncFor(
  backendName: HostBackendName,
  kernelName: string,
  body: KernelBody,
): KernelFunc {
  const run = RUNNERS[backendName];
  return ({ inputs, backend, attrs }) => {
    const plan = body(inputs as Record<string, TensorInfo>, attrs ?? {});
    for (const info of plan.inputs) {
      if (info == null) throw new Error(`${kernelName}: missing input`);
    }
    return run(backend, plan.inputs, plan.outputShapes, plan.compute);
  };
}
