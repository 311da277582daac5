/**
 * EA-series forward and backward in WebAssembly SIMD (AssemblyScript, built with
 * `--enable simd --importMemory`), four adjacent channels per float32x4 vector.
 *
 * Same passes as src/maths/series.ts. Tensors are float32, row-major: q, y, dy, dq
 * [batch, queries, channels]; k, v, dk, dv [batch, keys, channels]; mask [batch, keys]; states
 * [batch, terms, channels]. `channels` is a multiple of 4 (the caller pads otherwise). Running
 * sums are float32 partial sums flushed into float64 every FLUSH_EVERY positions (./sums.ts),
 * so long causal sequences do not drift. The module has no static data and never allocates:
 * all scratch is the caller's, at `scratch`, of the size the `*ScratchBytes` functions give,
 * so it can run on memory it imports, such as the tfjs wasm heap.
 *
 * Both passes return 0 when done, or 1 when the inputs leave the float32 range this design
 * covers — a visible key with k² > {@link KEY_SQUARE_LIMIT} (e^{-k²} then nears the float32
 * underflow, where the oracle's float64 still has digits), a nonzero denominator too small for
 * float32 adjoints, a numerator or denominator that is not finite (a large |q| or |v|, or a
 * non-finite input), or NaN in a state. The caller then recomputes in float64; outputs written
 * so far are garbage.
 */

import { EXP_CONSTANTS_BYTES, Exp, storeExpConstants } from './exp';
import { Moments } from './moments';
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

/** Scratch bytes {@link forward} needs, independent of the sequence length. */
export function forwardScratchBytes(channels: i32, terms: i32): usize {
  return offset(Slot.AdjointWide, 0, channels, terms, false);
}

/** Scratch bytes {@link backward} needs. */
export function backwardScratchBytes(keys: i32, channels: i32, terms: i32, causal: bool): usize {
  return offset(Slot.End, keys, channels, terms, causal);
}

/** Forward: y, and the final state (initial state plus every visible key). */
export function forward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  y: usize,
  initialS: usize,
  initialZ: usize,
  finalS: usize,
  finalZ: usize,
  scratch: usize,
  batch: i32,
  queries: i32,
  keys: i32,
  channels: i32,
  terms: i32,
  causal: bool,
): i32 {
  const constants = scratch;
  storeExpConstants(constants);
  const halves = scratch + offset(Slot.Halves, keys, channels, terms, causal);
  const wide = scratch + offset(Slot.Wide, keys, channels, terms, causal);
  const cells = scratch + offset(Slot.Cells, keys, channels, terms, causal);
  fillTables(halves, scratch + offset(Slot.Coefficients, keys, channels, terms, causal), terms);
  const row = (<usize>channels) << 2;
  const group = <usize>terms * CELL;
  const count = terms * (channels >> 2);
  const stateBytes = (<usize>(terms * channels)) << 2;
  let largest = f32x4.splat(0);
  let overflow = f32x4.splat(0);
  let nan = false;
  for (let b = 0; b < batch; b++) {
    const state = <usize>b * stateBytes;
    start(wide, cells, initialS + state, initialZ + state, terms, channels);
    const keyAt = <usize>b * <usize>keys * row;
    const queryAt = <usize>b * <usize>queries * row;
    const maskAt = mask + ((<usize>b * <usize>keys) << 2);
    for (let j = 0; j < keys; j++) {
      const at = keyAt + <usize>j * row;
      const visible = load<f32>(maskAt + ((<usize>j) << 2)) !== 0;
      if (causal && visible) {
        // Query j sees keys 0..j: add key j, then read query j.
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          const kk = v128.load(k + at + c);
          const squared = f32x4.mul(kk, kk);
          largest = f32x4.pmax(largest, squared);
          Moments.addKey(cell, kk, squared, v128.load(v + at + c), terms, constants);
        }
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          overflow = f32x4.add(
            overflow,
            Moments.readQuery(cell, v128.load(q + at + c), halves, terms, y + at + c),
          );
        }
      } else if (causal) {
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          overflow = f32x4.add(
            overflow,
            Moments.readQuery(cell, v128.load(q + at + c), halves, terms, y + at + c),
          );
        }
      } else if (visible) {
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          const kk = v128.load(k + at + c);
          const squared = f32x4.mul(kk, kk);
          largest = f32x4.pmax(largest, squared);
          Moments.addKey(cell, kk, squared, v128.load(v + at + c), terms, constants);
        }
      }
      if (((j + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
    }
    flush(wide, cells, count);
    if (!causal) {
      for (let i = 0; i < queries; i++) {
        const at = queryAt + <usize>i * row;
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          overflow = f32x4.add(
            overflow,
            Moments.readQuery(cell, v128.load(q + at + c), halves, terms, y + at + c),
          );
        }
      }
    }
    nan = finish(wide, cells, finalS + state, finalZ + state, terms, channels) || nan;
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
export function backward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  dy: usize,
  initialS: usize,
  initialZ: usize,
  dFinalS: usize,
  dFinalZ: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  dInitialS: usize,
  dInitialZ: usize,
  scratch: usize,
  batch: i32,
  queries: i32,
  keys: i32,
  channels: i32,
  terms: i32,
  causal: bool,
): i32 {
  const constants = scratch;
  storeExpConstants(constants);
  const halves = scratch + offset(Slot.Halves, keys, channels, terms, causal);
  const coefficients = scratch + offset(Slot.Coefficients, keys, channels, terms, causal);
  const wide = scratch + offset(Slot.Wide, keys, channels, terms, causal);
  const cells = scratch + offset(Slot.Cells, keys, channels, terms, causal);
  const adjointWide = scratch + offset(Slot.AdjointWide, keys, channels, terms, causal);
  const adjoints = scratch + offset(Slot.AdjointCells, keys, channels, terms, causal);
  const checkpoints = scratch + offset(Slot.Checkpoints, keys, channels, terms, causal);
  const alphas = scratch + offset(Slot.Alphas, keys, channels, terms, causal);
  const betas = scratch + offset(Slot.Betas, keys, channels, terms, causal);
  fillTables(halves, coefficients, terms);
  const row = (<usize>channels) << 2;
  const group = <usize>terms * CELL;
  const count = terms * (channels >> 2);
  const cellBytes = <usize>count * CELL;
  const stateBytes = (<usize>(terms * channels)) << 2;
  let largest = f32x4.splat(0);
  let tiny = f32x4.splat(0);
  let nan = false;
  for (let b = 0; b < batch; b++) {
    const state = <usize>b * stateBytes;
    start(wide, cells, initialS + state, initialZ + state, terms, channels);
    start(adjointWide, adjoints, dFinalS + state, dFinalZ + state, terms, channels);
    const keyAt = <usize>b * <usize>keys * row;
    const queryAt = <usize>b * <usize>queries * row;
    const maskAt = mask + ((<usize>b * <usize>keys) << 2);
    if (causal) {
      for (let i = 0; i < keys; i++) {
        if (i % BLOCK === 0) {
          // Partial sums are empty here: BLOCK is a multiple of FLUSH_EVERY.
          memory.copy(checkpoints + <usize>(i / BLOCK) * cellBytes, wide, cellBytes);
        }
        if (load<f32>(maskAt + ((<usize>i) << 2)) !== 0) {
          const at = keyAt + <usize>i * row;
          for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
            const kk = v128.load(k + at + c);
            const squared = f32x4.mul(kk, kk);
            largest = f32x4.pmax(largest, squared);
            Moments.addKey(cell, kk, squared, v128.load(v + at + c), terms, constants);
          }
        }
        if (((i + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
      }
      let pending = 0;
      for (let first = ((keys - 1) / BLOCK) * BLOCK; first >= 0; first -= BLOCK) {
        const end = min(keys, first + BLOCK);
        restart(wide, cells, checkpoints + <usize>(first / BLOCK) * cellBytes, count);
        for (let i = first; i < end; i++) {
          const at = keyAt + <usize>i * row;
          const local = <usize>(i - first) * row;
          if (load<f32>(maskAt + ((<usize>i) << 2)) !== 0) {
            for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
              const kk = v128.load(k + at + c);
              Moments.addKey(cell, kk, f32x4.mul(kk, kk), v128.load(v + at + c), terms, constants);
            }
          }
          for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
            const flagged = Moments.queryGradient(
              cell,
              v128.load(q + at + c),
              v128.load(dy + at + c),
              coefficients,
              terms,
              dq + at + c,
              alphas + local + c,
              betas + local + c,
            );
            tiny = v128.or(tiny, flagged);
          }
          if (((i + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
        }
        for (let j = end - 1; j >= first; j--) {
          const at = keyAt + <usize>j * row;
          const local = <usize>(j - first) * row;
          const visible = load<f32>(maskAt + ((<usize>j) << 2)) !== 0;
          for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
            const alpha = v128.load(alphas + local + c);
            const beta = v128.load(betas + local + c);
            Moments.addQuery(cell, v128.load(q + at + c), alpha, beta, halves, terms);
            if (visible) {
              const kk = v128.load(k + at + c);
              Moments.keyGradient(
                cell,
                kk,
                v128.load(v + at + c),
                terms,
                dk + at + c,
                dv + at + c,
                constants,
              );
            } else {
              v128.store(dk + at + c, f32x4.splat(0));
              v128.store(dv + at + c, f32x4.splat(0));
            }
          }
          if (++pending === FLUSH_EVERY) {
            flush(adjointWide, adjoints, count);
            pending = 0;
          }
        }
      }
    } else {
      for (let j = 0; j < keys; j++) {
        if (load<f32>(maskAt + ((<usize>j) << 2)) !== 0) {
          const at = keyAt + <usize>j * row;
          for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
            const kk = v128.load(k + at + c);
            const squared = f32x4.mul(kk, kk);
            largest = f32x4.pmax(largest, squared);
            Moments.addKey(cell, kk, squared, v128.load(v + at + c), terms, constants);
          }
        }
        if (((j + 1) & (FLUSH_EVERY - 1)) === 0) flush(wide, cells, count);
      }
      flush(wide, cells, count);
      for (let i = 0; i < queries; i++) {
        const at = queryAt + <usize>i * row;
        for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
          const qq = v128.load(q + at + c);
          const flagged = Moments.queryGradient(
            cell,
            qq,
            v128.load(dy + at + c),
            coefficients,
            terms,
            dq + at + c,
            alphas + c,
            betas + c,
          );
          tiny = v128.or(tiny, flagged);
          const adjoint = adjoints + (c >> 4) * group;
          Moments.addQuery(adjoint, qq, v128.load(alphas + c), v128.load(betas + c), halves, terms);
        }
        if (((i + 1) & (FLUSH_EVERY - 1)) === 0) flush(adjointWide, adjoints, count);
      }
      flush(adjointWide, adjoints, count);
      for (let j = 0; j < keys; j++) {
        const at = keyAt + <usize>j * row;
        const visible = load<f32>(maskAt + ((<usize>j) << 2)) !== 0;
        for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
          if (visible) {
            const kk = v128.load(k + at + c);
            Moments.keyGradient(
              cell,
              kk,
              v128.load(v + at + c),
              terms,
              dk + at + c,
              dv + at + c,
              constants,
            );
          } else {
            v128.store(dk + at + c, f32x4.splat(0));
            v128.store(dv + at + c, f32x4.splat(0));
          }
        }
      }
    }
    nan =
      finish(adjointWide, adjoints, dInitialS + state, dInitialZ + state, terms, channels) || nan;
  }
  return outOfRange(largest) || v128.any_true(tiny) || nan ? 1 : 0;
}

/**
 * e^{-s} (s >= 0) of `count` float32 values at `source` into `target` (count a multiple of 4),
 * with {@link expScratchBytes} bytes of scratch at `scratch`; for tests.
 */
export function expOfNegativeInto(source: usize, target: usize, count: i32, scratch: usize): void {
  storeExpConstants(scratch);
  for (let x = 0; x < count; x += 4) {
    const at = (<usize>x) << 2;
    v128.store(target + at, Exp.ofNegative(v128.load(source + at), scratch));
  }
}

export function expScratchBytes(): usize {
  return EXP_CONSTANTS_BYTES;
}
