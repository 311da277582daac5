import { findBackend } from '@tensorflow/tfjs-core';
import type { WasmHeap } from './simd/series_simd.js';

/**
 * The WebAssembly memory of the tfjs `wasm` backend, where its tensors live, with the backend's
 * allocator. tfjs-backend-wasm 4.x keeps its emscripten module at `backend.wasm`; the module's
 * exports (`asm`) include the memory, and `_malloc` / `_free` allocate in it. Described
 * structurally, so the backend package is never imported; null when the shape differs.
 */
interface EmscriptenModule {
  asm?: { memory?: unknown };
  _malloc?: (bytes: number) => number;
  _free?: (pointer: number) => void;
}

const heaps = new WeakMap<object, WasmHeap | null>();

export function wasmHeap(): WasmHeap | null {
  const backend = findBackend('wasm') as { wasm?: EmscriptenModule } | null;
  if (backend == null) return null;
  if (heaps.has(backend)) return heaps.get(backend) ?? null;
  const module = backend.wasm;
  const memory = module?.asm?.memory;
  const malloc = module?._malloc;
  const free = module?._free;
  const heap =
    memory instanceof WebAssembly.Memory &&
    typeof malloc === 'function' &&
    typeof free === 'function'
      ? {
          memory,
          malloc: (bytes: number) => malloc(bytes),
          free: (pointer: number) => free(pointer),
        }
      : null;
  heaps.set(backend, heap);
  return heap;
}
