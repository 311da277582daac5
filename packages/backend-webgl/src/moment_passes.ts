import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { chunkScanProgram, SCAN_CHUNK } from './programs/chunk_scan_program.js';
import { sumRowsProgram } from './programs/sum_rows_program.js';

/** Runs one program to a new float32 texture. */
export function run(
  backend: MathBackendWebGL,
  program: GPGPUProgram,
  inputs: TensorInfo[],
): TensorInfo {
  return backend.runWebGLProgram(program, inputs, 'float32');
}

/**
 * Inclusive prefix sums (suffix sums when `reverse`) along axis 1 of `[B, L, W, D]`, as a chunked
 * scan applied recursively: the totals of each chunk of {@link SCAN_CHUNK} rows are scanned the
 * same way, then one full-size pass adds each row's in-chunk sum to the carry of the chunks before
 * it (see {@link chunkScanProgram}). Whatever L, one pass writes L rows (and one reads them for
 * the totals); each level of the recursion works on a texture `SCAN_CHUNK` times smaller, so there
 * are ⌈log₁₆ L⌉ levels. Takes ownership of `terms`: it is released once read, and every
 * intermediate with it.
 *
 * The webgpu backend scans in workgroups instead (its programs/geometry.ts), without writing the
 * per-position terms out; a fragment shader has no workgroup memory or barriers, so here every
 * level is a pass over a texture.
 */
export function scanRows(
  backend: MathBackendWebGL,
  terms: TensorInfo,
  reverse: boolean,
): TensorInfo {
  try {
    if (terms.shape[1] <= SCAN_CHUNK) {
      return run(backend, chunkScanProgram(terms.shape, reverse, false), [terms]);
    }
    const totals = run(backend, sumRowsProgram(terms.shape, SCAN_CHUNK), [terms]);
    const carries = scanRows(backend, totals, reverse);
    try {
      return run(backend, chunkScanProgram(terms.shape, reverse, true), [terms, carries]);
    } finally {
      backend.disposeIntermediateTensorInfo(carries);
    }
  } finally {
    backend.disposeIntermediateTensorInfo(terms);
  }
}

/**
 * Sums along axis 1 of `[B, L, W, D]` to `[B, 1, W, D]` by a tree of passes (see
 * {@link sumRowsProgram}). Takes ownership of `terms`: it is returned as is when L = 1 and
 * released otherwise.
 */
export function sumRows(backend: MathBackendWebGL, terms: TensorInfo): TensorInfo {
  let current = terms;
  while (current.shape[1] > 1) {
    const next = run(backend, sumRowsProgram(current.shape), [current]);
    backend.disposeIntermediateTensorInfo(current);
    current = next;
  }
  return current;
}

/**
 * Runs `passes` in order and returns their outputs; if one throws, the outputs already made are
 * released before the error propagates, so a failing kernel leaves no texture behind.
 */
export function runAll(backend: MathBackendWebGL, passes: (() => TensorInfo)[]): TensorInfo[] {
  const outputs: TensorInfo[] = [];
  try {
    for (const pass of passes) outputs.push(pass());
    return outputs;
  } catch (error) {
    for (const info of outputs) backend.disposeIntermediateTensorInfo(info);
    throw error;
  }
}

/** The `[B, 0, D]` state of `order: 'exact'`: no texture, no values. */
export function emptyState(backend: MathBackendWebGL, shape: number[]): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', new Float32Array(0));
}
