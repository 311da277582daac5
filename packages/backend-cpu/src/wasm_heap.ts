import { findBackend } from '@tensorflow/tfjs-core';
import type { WasmHeap } from './simd/series_simd.js';
import { guardMalloc, type MallocModule, rawMalloc } from './wasm_malloc_guard.js';

/**
 * The WebAssembly memory of the tfjs `wasm` backend, where its tensors live, with the backend's
 * allocator. tfjs-backend-wasm 4.x keeps its emscripten module at `backend.wasm`; the module's
 * exports (`asm`) include the memory, and `_malloc` / `_free` allocate in it. Described
 * structurally, so the backend package is never imported; null when the shape differs.
 *
 * The first look at a backend also installs the malloc guard (./wasm_malloc_guard.ts), so that
 * from then on a failed tensor allocation throws instead of handing out address 0. The heap
 * returned here keeps the unguarded allocator: the kernels' own scratch falls back to the
 * TypeScript implementation when it cannot be had.
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
