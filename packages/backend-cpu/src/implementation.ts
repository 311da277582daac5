import type { Dims } from './maths/common.js';
import {
  type SeriesGradients,
  type SeriesInputs,
  type SeriesOutputs,
  type SeriesUpstream,
  seriesBackward,
  seriesForward,
} from './maths/series.js';
import { seriesSimd } from './simd/series_simd.js';

/**
 * Which implementation of the series forward and backward the kernels run: the WebAssembly
 * SIMD build where the platform supports it, the plain TypeScript one otherwise. Both compute
 * in float64; step and `'exact'` always run in TypeScript.
 */

export type KernelImplementation = 'wasm-simd' | 'typescript';

interface Series {
  forward(
    inputs: SeriesInputs,
    dims: Dims,
    order: number,
    causal: boolean,
    out: SeriesOutputs,
  ): void;
  backward(
    inputs: SeriesInputs,
    upstream: SeriesUpstream,
    dims: Dims,
    order: number,
    causal: boolean,
    out: SeriesGradients,
  ): void;
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

/** The series forward and backward: SIMD when allowed and available, else TypeScript. */
export function series(): Series {
  const simd = simdAllowed ? seriesSimd() : null;
  if (simd == null) return typescript;
  return {
    forward: (...args) => {
      if (!simd.forward(...args)) typescript.forward(...args);
    },
    backward: (...args) => {
      if (!simd.backward(...args)) typescript.backward(...args);
    },
  };
}
