import type { TensorInfo } from '@tensorflow/tfjs-core';
import { blockTotalsProgram, carriesProgram, type TermSource } from './programs/block_programs.js';
import { blockCount, type ScanGeometry } from './programs/geometry.js';
import { carrySliceProgram } from './programs/series_programs.js';
import { release, run, type WebGPUBackend } from './webgpu_backend.js';

/**
 * The blocked scan shared by the series kernels: block totals, then carries from an initial
 * state. The carries [B, blocks + 1, 2T, D] hold, forward, the state before every block and
 * the final state in the last row; reverse, the suffix sums after every block and the sum over
 * the whole sequence (plus the initial state) in the first row.
 */
export function scanCarries(
  backend: WebGPUBackend,
  geometry: ScanGeometry,
  source: TermSource,
  sourceInputs: TensorInfo[],
  initial: [TensorInfo, TensorInfo],
  reverse: boolean,
): TensorInfo {
  const [batch, length, channels] = sourceInputs[0].shape;
  const totals = run(
    backend,
    blockTotalsProgram(geometry, source, batch, length, channels),
    sourceInputs,
  );
  const blocks = blockCount(geometry, length);
  const carries = run(backend, carriesProgram(geometry, reverse, batch, blocks, channels), [
    totals,
    ...initial,
  ]);
  release(backend, totals);
  return carries;
}

/** The two halves (S/A and Z/B) of the first or last row of carries, each [B, T, D]. */
export function carryState(
  backend: WebGPUBackend,
  geometry: ScanGeometry,
  carries: TensorInfo,
  row: 'first' | 'last',
): [TensorInfo, TensorInfo] {
  return [
    run(backend, carrySliceProgram(geometry, carries.shape, row, 0), [carries]),
    run(backend, carrySliceProgram(geometry, carries.shape, row, 1), [carries]),
  ];
}
