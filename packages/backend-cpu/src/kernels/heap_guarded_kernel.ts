import {
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
} from '@elementwise/attention/authoring';
import {
  findBackend,
  type KernelConfig,
  type KernelFunc,
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
  body: KernelBody,
  outputNames: readonly string[],
): KernelFunc {
  if (backendName !== 'wasm') return kernelFuncFor(backendName, kernelName, body);
  const guarded: KernelBody = (inputs, attrs) => {
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
    const names = Object.entries(inputs);
    plan.inputs.forEach((info, i) => {
      const values = size(info.shape);
      if (values > 0 && backend.typedArrayFromHeap?.(info).byteOffset === 0) {
        const name = names.find(([, candidate]) => candidate === info)?.[0] ?? `#${i}`;
        refuse(`input ${name}`, values);
      }
    });
    return {
      ...plan,
      compute: (views, outputs) => {
        outputs.forEach((view, i) => {
          if (view.length > 0 && view.byteOffset === 0 && view.buffer === heap.memory.buffer) {
            refuse(`output ${outputNames[i] ?? `#${i}`}`, view.length);
          }
        });
        plan.compute(views, outputs);
      },
    };
  };
  return kernelFuncFor(backendName, kernelName, guarded);
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
  body: KernelBody,
  outputNames: readonly string[],
): KernelConfig {
  const config: KernelConfig = {
    kernelName,
    backendName,
    kernelFunc: heapGuardedKernelFunc(backendName, kernelName, body, outputNames),
  };
  if (backendName === 'wasm') {
    config.setupFunc = (backend) => {
      guardWasmBackend(backend);
    };
  }
  return config;
}
