/**
 * Workgroup geometry shared by the scan programs.
 *
 * A causal sequence is cut into blocks of `W × P` positions: each of the W invocations of a
 * workgroup walks P consecutive positions sequentially, the workgroup scans the W partial sums
 * (Hillis–Steele, in workgroup memory), and blocks are joined by carries (a scan of the block
 * totals). One workgroup serves one (block, channel, batch) triple.
 *
 * The webgl backend, whose fragment shaders have no workgroup memory or barriers, scans by
 * recursive passes over chunks of 16 instead (its moment_passes.ts), which needs every
 * position's terms written out ([B, L, 2T, D]); here the terms are regenerated in the final pass
 * and never stored, and a causal call takes the same number of dispatches whatever L.
 */

/** Positions each invocation walks sequentially. */
export const POSITIONS_PER_INVOCATION = 16;

/** Workgroup memory every program may use (WebGPU's guaranteed minimum). */
const WORKGROUP_STORAGE_BYTES = 16_384;

/** The largest workgroup used; the scan keeps `2T` floats per invocation in workgroup memory. */
const MAX_INVOCATIONS = 64;

export interface ScanGeometry {
  /** T: moments per state (order + 1). */
  terms: number;
  /** invocations per workgroup (a power of two) */
  invocations: number;
  /** positions per invocation */
  positions: number;
  /** positions per block */
  block: number;
}

export function scanGeometry(order: number): ScanGeometry {
  const terms = order + 1;
  let invocations = MAX_INVOCATIONS;
  while (invocations > 1 && invocations * 2 * terms * 4 > WORKGROUP_STORAGE_BYTES) {
    invocations /= 2;
  }
  if (invocations * 2 * terms * 4 > WORKGROUP_STORAGE_BYTES) {
    throw new Error(`order ${order} is too large for the webgpu kernels (at most 2046)`);
  }
  const positions = POSITIONS_PER_INVOCATION;
  return { terms, invocations, positions, block: invocations * positions };
}

/** Number of blocks covering `length` positions. */
export function blockCount(geometry: ScanGeometry, length: number): number {
  return Math.ceil(length / geometry.block);
}

/** Workgroups of `size` invocations covering `threads` invocations, along x. */
export function flatDispatch(threads: number, size: number): [number, number, number] {
  return [Math.max(1, Math.ceil(threads / size)), 1, 1];
}

/** WebGPU's guaranteed workgroups per dispatch dimension. */
const MAX_WORKGROUPS_PER_DIMENSION = 65_535;

/** The grid of the block programs: one workgroup per (block, channel, batch). */
export function blockGrid(
  blocks: number,
  channels: number,
  batch: number,
): [number, number, number] {
  if (channels > MAX_WORKGROUPS_PER_DIMENSION || batch > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new Error(
      `the webgpu kernels handle at most ${MAX_WORKGROUPS_PER_DIMENSION} channels (D) and batch ` +
        `elements (B) per call, got D = ${channels}, B = ${batch}`,
    );
  }
  return [blocks, channels, batch];
}
