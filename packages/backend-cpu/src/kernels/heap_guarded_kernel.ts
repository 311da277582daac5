import {
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
} from '@elementwise/attention/authoring';
import {
  findBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { guardWasmBackend, wasmHeap } from '../wasm_heap.js';
import { heapExhaustedAdvice } from '../wasm_malloc_guard.js';

/** tfjs-backend-wasm's `BackendWasm`, described structurally (only what is used here). */
interface WasmBackend {
  typedArrayFromHeap(info: TensorInfo): ArrayBufferView;
}

const size = (shape: readonly number[]) => shape.reduce((product, n) => product * n, 1);

/**
 * What a kernel does with one call, by the contract's names: the tensors it reads, the shape of
 * each output (in the order the kernel returns them), and a compute that fills every output view
 * from the input views, all keyed by name.
 */
export interface NamedPlan {
  readonly inputs: Readonly<Record<string, TensorInfo>>;
  readonly outputShapes: Readonly<Record<string, number[]>>;
  compute(views: Readonly<Record<string, Float32Array>>): void;
}

/** Checks the attrs and inputs of a call and plans it. */
export type NamedKernelBody = (
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
) => NamedPlan;

/** The positional body `kernelFuncFor` runs: names become the order of their listing. */
function positionalBody(body: NamedKernelBody): KernelBody {
  return (inputs, attrs) => {
    const plan = body(inputs, attrs);
    const inputNames = Object.keys(plan.inputs);
    const outputNames = Object.keys(plan.outputShapes);
    return {
      inputs: inputNames.map((name) => plan.inputs[name]),
      outputShapes: outputNames.map((name) => plan.outputShapes[name]),
      compute: (inputViews, outputViews) => {
        const views: Record<string, Float32Array> = {};
        inputNames.forEach((name, i) => {
          views[name] = inputViews[i];
        });
        outputNames.forEach((name, i) => {
          views[name] = outputViews[i];
        });
        plan.compute(views);
      },
    };
  };
}

/**
 * The tfjs `kernelFunc` of a kernel body, with two guards on `wasm`. Before anything is
 * allocated, the backend's malloc guard is installed (see ../wasm_malloc_guard.ts), so the
 * outputs of this kernel cannot silently land at address 0. And a tensor that already lies at
 * address 0 of the heap (allocated by tfjs-backend-wasm before the guard existed: it never
 * checks malloc's result) is refused, inputs before the outputs are allocated: address 0 is
 * never a real allocation, and writing there would overwrite the allocator's own data.
 */
export function heapGuardedKernelFunc(
  backendName: HostBackendName,
  kernelName: string,
  body: NamedKernelBody,
): KernelFunc {
  if (backendName !== 'wasm') return kernelFuncFor(backendName, kernelName, positionalBody(body));
  const guarded: NamedKernelBody = (inputs, attrs) => {
    const heap = wasmHeap();
    const plan = body(inputs, attrs);
    const backend = findBackend('wasm') as Partial<WasmBackend> | null;
    if (heap == null || typeof backend?.typedArrayFromHeap !== 'function') return plan;
    const refuse = (what: string, values: number) => {
      throw new Error(
        `${kernelName}: ${what} (${values} values) lies at address 0 of the tfjs wasm heap, ` +
          'where tfjs-backend-wasm places a tensor whose allocation failed (it does not check ' +
          'malloc results); refusing to read or write it. The tfjs wasm backend is out of ' +
          `memory: ${heapExhaustedAdvice(heap.memory)}.`,
      );
    };
    for (const [name, info] of Object.entries(plan.inputs)) {
      const values = info == null ? 0 : size(info.shape);
      if (values > 0 && backend.typedArrayFromHeap?.(info).byteOffset === 0) {
        refuse(`input ${name}`, values);
      }
    }
    return {
      ...plan,
      compute: (views) => {
        for (const name of Object.keys(plan.outputShapes)) {
          const view = views[name];
          if (view.length > 0 && view.byteOffset === 0 && view.buffer === heap.memory.buffer) {
            refuse(`output ${name}`, view.length);
          }
        }
        plan.compute(views);
      },
    };
  };
  return kernelFuncFor(backendName, kernelName, positionalBody(guarded));
}

/**
 * The tfjs `KernelConfig` of a kernel body on a host backend: its {@link heapGuardedKernelFunc},
 * and on `wasm` a `setupFunc` that installs the backend's malloc guard. tfjs calls every
 * registered kernel's `setupFunc` with the backend whenever `setBackend('wasm')` makes it the
 * active one, so the guard is in place before any tensor is allocated there, even in a process
 * that never runs one of these kernels.
 */
export function hostKernelConfig(
  backendName: HostBackendName,
  kernelName: string,
  body: NamedKernelBody,
): KernelConfig {
  const config: KernelConfig = {
    kernelName,
    backendName,
    kernelFunc: heapGuardedKernelFunc(backendName, kernelName, body),
  };
  if (backendName === 'wasm') {
    config.setupFunc = (backend) => {
      guardWasmBackend(backend);
    };
  }
  return config;
}
