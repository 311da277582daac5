import type { BackwardRecord, ForwardRecord } from './maths/records.js';
import { seriesBackward, seriesForward } from './maths/series.js';
import { seriesSimd, simdLoaded } from './simd/series_simd.js';
import { wasmHeap } from './wasm_heap.js';

/**
 * Which implementation of the series forward and backward the kernels run: the WebAssembly
 * SIMD build (float32x4 lanes, float64 running totals) where the platform supports it, the
 * plain TypeScript one (float64 throughout) otherwise. Step and `'exact'` always run in
 * TypeScript.
 */

export type KernelImplementation = 'wasm-simd' | 'typescript';

interface Series {
  forward(call: ForwardRecord): void;
  backward(call: BackwardRecord): void;
}

const typescript: Series = { forward: seriesForward, backward: seriesBackward };

let simdAllowed = true;

/**
 * Allows (default) or forbids the WebAssembly SIMD implementation, e.g. to compare the two.
 * Where SIMD is unavailable the TypeScript implementation runs either way.
 */
export function setSimdEnabled(enabled: boolean): void {
  simdAllowed = enabled;
}

/** The implementation the series kernels run now. */
export function kernelImplementation(): KernelImplementation {
  return simdAllowed && seriesSimd() != null ? 'wasm-simd' : 'typescript';
}

/**
 * Resolves once the SIMD build has loaded, or is known to be unavailable. In Node it loads
 * with the package; in a browser's main thread it compiles asynchronously, and calls made
 * before then run in TypeScript.
 */
export async function kernelsReady(): Promise<KernelImplementation> {
  await simdLoaded();
  return kernelImplementation();
}

/**
 * The series forward and backward for a tfjs backend: SIMD when allowed and available (on
 * `wasm`, computing on the backend's heap in place), else TypeScript.
 */
export function series(backendName: string): Series {
  const simd = simdAllowed ? seriesSimd() : null;
  if (simd == null) return typescript;
  const heap = backendName === 'wasm' ? wasmHeap() : null;
  return {
    forward: (call) => simd.forward(call, heap) || typescript.forward(call),
    backward: (call) => simd.backward(call, heap) || typescript.backward(call),
  };
}
