import { engine, findBackend } from '@tensorflow/tfjs-core';
import type { WasmHeap } from './simd/series_simd.js';
import { guardMalloc, type MallocModule, rawMalloc } from './wasm_malloc_guard.js';

/**
 * The WebAssembly memory of the tfjs `wasm` backend, where its tensors live, with the backend's
 * allocator. tfjs-backend-wasm 4.x keeps its emscripten module at `backend.wasm`; the module's
 * exports (`asm`) include the memory, and `_malloc` / `_free` allocate in it. Described
 * structurally, so the backend package is never imported; null when the shape differs.
 *
 * The first look at a backend also installs the malloc guard (./wasm_malloc_guard.ts), if
 * {@link guardWasmBackend} has not already done so, so that from then on a failed tensor
 * allocation throws instead of handing out address 0. The heap returned here keeps the unguarded
 * allocator: the kernels' own scratch falls back to the TypeScript implementation when it cannot
 * be had.
 */
interface EmscriptenModule extends MallocModule {
  asm?: { memory?: unknown; malloc?: unknown };
  _free?: (pointer: number) => void;
}

const heaps = new WeakMap<object, WasmHeap | null>();

export function wasmHeap(): WasmHeap | null {
  const backend = findBackend('wasm') as { wasm?: EmscriptenModule } | null;
  if (backend == null) return null;
  if (heaps.has(backend)) return heaps.get(backend) ?? null;
  const module = backend.wasm;
  const memory = module?.asm?.memory;
  const malloc = module != null ? rawMalloc(module) : null;
  const free = module?._free;
  const heap =
    module != null &&
    memory instanceof WebAssembly.Memory &&
    malloc != null &&
    typeof free === 'function'
      ? {
          memory,
          malloc,
          free: (pointer: number) => free(pointer),
        }
      : null;
  if (heap != null && module != null) guardMalloc(module, heap.memory);
  heaps.set(backend, heap);
  return heap;
}

/**
 * Installs the malloc guard on a tfjs `wasm` backend instance (described structurally: its
 * emscripten module at `backend.wasm`, the module's memory at `asm.memory`). Returns whether the
 * guard is in place; never throws, so that it can run inside tfjs's `setBackend`.
 *
 * It runs as soon as a wasm backend exists after this package is imported, so that a process
 * that never runs one of our kernels (softmax models, matMul only) is guarded too:
 * - when the package is imported, on a wasm backend tfjs has already created
 *   ({@link guardCreatedWasmBackend});
 * - as the `setupFunc` of our wasm kernels, which tfjs calls with the backend every time
 *   `tf.setBackend('wasm')` (or `tf.ready()`, or the first op choosing the best backend) makes it
 *   the active one, before anything is allocated on it;
 * - and, as before, at the first call of one of our kernels ({@link wasmHeap}).
 */
export function guardWasmBackend(backend: unknown): boolean {
  try {
    const module = (backend as { wasm?: EmscriptenModule } | null | undefined)?.wasm;
    const memory = module?.asm?.memory;
    if (module == null || !(memory instanceof WebAssembly.Memory)) return false;
    return guardMalloc(module, memory);
  } catch {
    return false;
  }
}

/**
 * Guards the wasm backend if the tfjs engine has created it already. Reads the engine's registry
 * rather than calling `findBackend('wasm')`, which would start creating a backend that is
 * registered but not yet used.
 */
export function guardCreatedWasmBackend(): boolean {
  const registry = (engine() as { registry?: Record<string, unknown> }).registry;
  const backend = registry != null && Object.hasOwn(registry, 'wasm') ? registry.wasm : null;
  return backend != null && guardWasmBackend(backend);
}
