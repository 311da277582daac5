/**
 * EA-series forward and backward in WebAssembly SIMD (AssemblyScript, built with
 * `--enable simd --importMemory`), four adjacent channels per float32x4 vector.
 *
 * Same passes as src/maths/series.ts. Tensors are float32, row-major: q, y, dy, dq
 * [batch, queries, channels]; k, v, dk, dv [batch, keys, channels]; mask [batch, keys]; states
 * [batch, terms, channels]. `channels` is a multiple of 4 (the caller pads otherwise). Running
 * sums are float32 partial sums flushed into float64 every FLUSH_EVERY positions (./sums.ts),
 * so long causal sequences do not drift. Every export takes the address of its parameter
 * record (./records.ts). The module has no static data and never allocates: all scratch is the
 * caller's, at the record's `scratch`, of the size the `*ScratchBytes` functions give, so it can
 * run on memory it imports, such as the tfjs wasm heap.
 *
 * Both passes return 0 when done, or 1 when the inputs leave the float32 range this design
 * covers — a visible key with k² > {@link KEY_SQUARE_LIMIT} (e^{-k²} then nears the float32
 * underflow, where the oracle's float64 still has digits), a nonzero denominator too small for
 * float32 adjoints, a numerator or denominator that is not finite (a large |q| or |v|, or a
 * non-finite input), or NaN in a state. The caller then recomputes in float64; outputs written
 * so far are garbage.
 */

import { EXP_CONSTANTS_BYTES, Exp, storeExpConstants } from './exp';
// biome-ignore lint/style/useImportType: AssemblyScript has no type-only imports.
import { AttentionRecord, BackwardRecord, ExpRecord, ForwardRecord } from './records';
import { Rows } from './rows';
import { CELL, FLUSH_EVERY, finish, flush, restart, start } from './sums';

/** Largest k² of a visible key the float32 kernels accept (e^-64 ≈ 1.6e-28). */
const KEY_SQUARE_LIMIT: f32 = 64.0;
/** Keys per block of the causal backward (a multiple of FLUSH_EVERY). */
const BLOCK: i32 = 1024;

/** The regions of the scratch, in order; the forward uses those before AdjointWide. */
enum Slot {
  Constants,
  Halves,
  Coefficients,
  Wide,
  Cells,
  AdjointWide,
  AdjointCells,
  Checkpoints,
  Alphas,
  Betas,
  End,
}

/** Byte offset of region `which` in the scratch. */
function offset(which: Slot, keys: i32, channels: i32, terms: i32, causal: bool): usize {
  const cellBytes = <usize>(terms * (channels >> 2)) * CELL;
  const rows: usize = causal ? <usize>min(max(keys, 1), BLOCK) : 1;
  const blocks: usize = causal ? <usize>((keys + BLOCK - 1) / BLOCK) : 0;
  let at: usize = 0;
  for (let region = Slot.Constants; region < which; region++) {
    if (region === Slot.Constants) {
      at += EXP_CONSTANTS_BYTES;
    } else if (region === Slot.Halves || region === Slot.Coefficients) {
      at += (<usize>(terms + 1) * 4 + 15) & ~(<usize>15);
    } else if (region === Slot.Checkpoints) {
      at += blocks * cellBytes;
    } else if (region === Slot.Alphas || region === Slot.Betas) {
      at += (rows * <usize>channels) << 2;
    } else {
      at += cellBytes;
    }
  }
  return at;
}

/** 2/n at `halves` (n = 1..terms) and a_n = 2^n/n! at `coefficients` (n = 0..terms-1). */
function fillTables(halves: usize, coefficients: usize, terms: i32): void {
  let a: f64 = 1;
  store<f32>(halves, 0);
  store<f32>(coefficients, 1);
  for (let n = 1; n <= terms; n++) {
    store<f32>(halves + ((<usize>n) << 2), <f32>(2.0 / <f64>n));
    a = (a * 2) / <f64>n;
    store<f32>(coefficients + ((<usize>n) << 2), <f32>a);
  }
}

function outOfRange(largestSquare: v128): bool {
  return v128.any_true(f32x4.gt(largestSquare, f32x4.splat(KEY_SQUARE_LIMIT)));
}

/** Scratch bytes {@link forward} needs for the sizes and attrs in `record`, whatever the length. */
export function forwardScratchBytes(record: usize): usize {
  const r = changetype<ForwardRecord>(record);
  return offset(Slot.AdjointWide, 0, r.channels, r.order + 1, false);
}

/** Scratch bytes {@link backward} needs for the sizes and attrs in `record`. */
export function backwardScratchBytes(record: usize): usize {
  const r = changetype<BackwardRecord>(record);
  return offset(Slot.End, r.keys, r.channels, r.order + 1, r.causal !== 0);
}

/** The address of region `which` of the call's scratch. */
function slot(r: AttentionRecord, which: Slot): usize {
  return r.scratch + offset(which, r.keys, r.channels, r.order + 1, r.causal !== 0);
}

/** Fills the scratch's constants and tables; returns the address of the exp constants. */
function prepare(r: AttentionRecord): usize {
  storeExpConstants(r.scratch);
  fillTables(slot(r, Slot.Halves), slot(r, Slot.Coefficients), r.order + 1);
  return r.scratch;
}

/** Byte offset of key j of sequence b in k, v, dk, dv (and of query j when causal). */
function keyAt(r: AttentionRecord, b: i32, j: i32): usize {
  return <usize>(b * r.keys + j) * Rows.bytes(r);
}

/** Byte offset of query i of sequence b in q, y, dy, dq. */
function queryAt(r: AttentionRecord, b: i32, i: i32): usize {
  return <usize>(b * r.queries + i) * Rows.bytes(r);
}

/** Byte offset of sequence b in the states. */
function stateAt(r: AttentionRecord, b: i32): usize {
  return (<usize>(b * (r.order + 1) * r.channels)) << 2;
}

function visible(r: AttentionRecord, b: i32, j: i32): bool {
  return load<f32>(r.mask + ((<usize>(b * r.keys + j)) << 2)) !== 0;
}

/** Cells of the running sums: one per term and group of 4 channels. */
function cellCount(r: AttentionRecord): i32 {
  return (r.order + 1) * (r.channels >> 2);
}

/** Forward: y, and the final state (initial state plus every visible key). */
export function forward(record: usize): i32 {
  const r = changetype<ForwardRecord>(record);
  const constants = prepare(r);
  const halves = slot(r, Slot.Halves);
  const wide = slot(r, Slot.Wide);
  const cells = slot(r, Slot.Cells);
  const terms = r.order + 1;
  const count = cellCount(r);
  let largest = f32x4.splat(0);
  let overflow = f32x4.splat(0);
  let nan = false;
  for (let b = 0; b < r.batch; b++) {
    const state = stateAt(r, b);
    start(wide, cells, r.initialS + state, r.initialZ + state, terms, r.channels);
    for (let j = 0; j < r.keys; j++) {
      const at = keyAt(r, b, j);
      if (visible(r, b, j)) largest = Rows.addKeys(r, cells, at, constants, largest);
      // Causal: query j sees keys 0..j, so it is read right after key j.
      if (r.causal) overflow = Rows.readQueries(r, cells, at, halves, overflow);
      if (((j + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
    }
    flush(wide, cells, count);
    for (let i = 0; !r.causal && i < r.queries; i++) {
      overflow = Rows.readQueries(r, cells, queryAt(r, b, i), halves, overflow);
    }
    nan = finish(wide, cells, r.finalS + state, r.finalZ + state, terms, r.channels) || nan;
  }
  // overflow - overflow is NaN exactly where the sum is not finite.
  const overflowed = f32x4.sub(overflow, overflow);
  return outOfRange(largest) || v128.any_true(f32x4.ne(overflowed, overflowed)) || nan ? 1 : 0;
}

/**
 * Backward (DESIGN.md §2). Non-causal: keys → moments; queries → ∂q and the adjoints
 * A_n = dFinalS_n + Σ α a_n q^n, B_n = dFinalZ_n + Σ β a_n q^n; keys → ∂k, ∂v. Causal: a pass
 * checkpoints the float64 moments every BLOCK keys; then block by block from the last, a
 * forward pass from the checkpoint gives ∂q, α, β and a reverse pass grows A, B and writes
 * ∂k, ∂v. The flush schedule depends only on the position, so the replay from a checkpoint
 * reproduces the first pass exactly. ∂(initial state) = A, B after every query.
 */
export function backward(record: usize): i32 {
  const r = changetype<BackwardRecord>(record);
  const constants = prepare(r);
  const halves = slot(r, Slot.Halves);
  const coefficients = slot(r, Slot.Coefficients);
  const wide = slot(r, Slot.Wide);
  const cells = slot(r, Slot.Cells);
  const adjointWide = slot(r, Slot.AdjointWide);
  const adjoints = slot(r, Slot.AdjointCells);
  const checkpoints = slot(r, Slot.Checkpoints);
  const alphas = slot(r, Slot.Alphas);
  const betas = slot(r, Slot.Betas);
  const terms = r.order + 1;
  const row = Rows.bytes(r);
  const count = cellCount(r);
  const cellBytes = <usize>count * CELL;
  let largest = f32x4.splat(0);
  let tiny = f32x4.splat(0);
  let nan = false;
  for (let b = 0; b < r.batch; b++) {
    const state = stateAt(r, b);
    start(wide, cells, r.initialS + state, r.initialZ + state, terms, r.channels);
    start(adjointWide, adjoints, r.dFinalS + state, r.dFinalZ + state, terms, r.channels);
    for (let j = 0; j < r.keys; j++) {
      if (r.causal && j % BLOCK === 0) {
        // Partial sums are empty here: BLOCK is a multiple of FLUSH_EVERY.
        memory.copy(checkpoints + <usize>(j / BLOCK) * cellBytes, wide, cellBytes);
      }
      if (visible(r, b, j)) largest = Rows.addKeys(r, cells, keyAt(r, b, j), constants, largest);
      if (((j + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
    }
    if (r.causal) {
      let pending = 0;
      for (let first = ((r.keys - 1) / BLOCK) * BLOCK; first >= 0; first -= BLOCK) {
        const end = min(r.keys, first + BLOCK);
        restart(wide, cells, checkpoints + <usize>(first / BLOCK) * cellBytes, count);
        for (let i = first; i < end; i++) {
          const at = keyAt(r, b, i);
          const local = <usize>(i - first) * row;
          if (visible(r, b, i)) largest = Rows.addKeys(r, cells, at, constants, largest);
          tiny = Rows.queryGradients(
            r,
            cells,
            at,
            alphas + local,
            betas + local,
            coefficients,
            tiny,
          );
          if (((i + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
        }
        for (let j = end - 1; j >= first; j--) {
          const at = keyAt(r, b, j);
          const local = <usize>(j - first) * row;
          Rows.addQueries(r, adjoints, at, alphas + local, betas + local, halves);
          Rows.keyGradients(r, adjoints, at, visible(r, b, j), constants);
          if (++pending === FLUSH_EVERY) {
            flush(adjointWide, adjoints, count);
            pending = 0;
          }
        }
      }
    } else {
      flush(wide, cells, count);
      for (let i = 0; i < r.queries; i++) {
        const at = queryAt(r, b, i);
        tiny = Rows.queryGradients(r, cells, at, alphas, betas, coefficients, tiny);
        Rows.addQueries(r, adjoints, at, alphas, betas, halves);
        if (((i + 1) & (FLUSH_EVERY - 1)) === 0) flush(adjointWide, adjoints, count);
      }
      flush(adjointWide, adjoints, count);
      for (let j = 0; j < r.keys; j++) {
        Rows.keyGradients(r, adjoints, keyAt(r, b, j), visible(r, b, j), constants);
      }
    }
    const dInitialS = r.dInitialS + state;
    nan = finish(adjointWide, adjoints, dInitialS, r.dInitialZ + state, terms, r.channels) || nan;
  }
  return outOfRange(largest) || v128.any_true(tiny) || nan ? 1 : 0;
}

/**
 * e^{-s} (s >= 0) of the record's `count` float32 values at `source` into `target`, with
 * {@link expScratchBytes} bytes of scratch at `scratch`; for tests.
 */
export function expOfNegativeInto(record: usize): void {
  const r = changetype<ExpRecord>(record);
  storeExpConstants(r.scratch);
  for (let x = 0; x < r.count; x += 4) {
    const at = (<usize>x) << 2;
    v128.store(r.target + at, Exp.ofNegative(v128.load(r.source + at), r.scratch));
  }
}

export function expScratchBytes(): usize {
  return EXP_CONSTANTS_BYTES;
}
