/**
 * Running sums of moments that do not drift over long causal sequences while every addition in
 * the hot loops stays a float32x4 add.
 *
 * The sums live in cells: one cell per (group of 4 channels, term n) holds, as float32x4,
 * the partial sums of S_n and Z_n (offsets {@link PARTIAL_S}, {@link PARTIAL_Z}) and their
 * totals so far rounded to float32 ({@link NARROW_S}, {@link NARROW_Z}). A group's cells are
 * consecutive (term 0 first), so a kernel walks one pointer in steps of {@link CELL} and reads
 * every value at a constant offset. A parallel array `wide` holds the same totals in float64
 * (S_n in the first 32 bytes of the cell, Z_n in the last 32).
 *
 * The value of a moment is narrow + partial: one float32 rounding of the float64 total plus at
 * most {@link FLUSH_EVERY} float32 roundings of a partial sum, whatever the length. {@link flush}
 * moves the partial sums into `wide` and refreshes `narrow`.
 */

/** Bytes per cell. */
export const CELL: usize = 64;
export const PARTIAL_S: usize = 0;
export const PARTIAL_Z: usize = 16;
export const NARROW_S: usize = 32;
export const NARROW_Z: usize = 48;

/** Positions between flushes; a power of two (and a divisor of the causal backward's block). */
export const FLUSH_EVERY: i32 = 128;

/** Conversions between a float32x4 of partial sums and float64 totals. */
// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
class Lanes {
  @inline static narrowOf(low: v128, high: v128): v128 {
    return v128.shuffle<f32>(
      f32x4.demote_f64x2_zero(low),
      f32x4.demote_f64x2_zero(high),
      0,
      1,
      4,
      5,
    );
  }

  @inline static highHalf(value: v128): v128 {
    return f64x2.promote_low_f32x4(v128.shuffle<f32>(value, value, 2, 3, 2, 3));
  }

  /** Stores `narrow` exactly as the float64 total at `wide`. */
  @inline static widen(wide: usize, narrow: v128): void {
    v128.store(wide, f64x2.promote_low_f32x4(narrow));
    v128.store(wide, Lanes.highHalf(narrow), 16);
  }

  /** Adds the partial sum at `cells + partial` into the float64 total at `wide`, returns narrow. */
  @inline static move(wide: usize, partial: v128): v128 {
    const low = f64x2.add(v128.load(wide), f64x2.promote_low_f32x4(partial));
    const high = f64x2.add(v128.load(wide, 16), Lanes.highHalf(partial));
    v128.store(wide, low);
    v128.store(wide, high, 16);
    return Lanes.narrowOf(low, high);
  }
}

/** Where {@link Cells.settle} takes a cell's totals from. */
enum Totals {
  /** The float64 total plus the partial sum (a flush). */
  Flushed,
  /** The narrow total, exactly (a start). */
  Narrow,
  /** The float64 total, as it is (a restart). */
  Wide,
}

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
class Cells {
  /**
   * Sets the float64 and narrow totals of `count` cells from `totals`, and zeroes their partial
   * sums. Inlined with a constant `totals`, so each caller keeps a loop of its own.
   */
  @inline static settle(wide: usize, cells: usize, count: i32, totals: Totals): void {
    const zero = f32x4.splat(0);
    const end = cells + <usize>count * CELL;
    while (cells < end) {
      if (totals === Totals.Flushed) {
        v128.store(cells, Lanes.move(wide, v128.load(cells, PARTIAL_S)), NARROW_S);
        v128.store(cells, Lanes.move(wide + 32, v128.load(cells, PARTIAL_Z)), NARROW_Z);
      } else if (totals === Totals.Narrow) {
        Lanes.widen(wide, v128.load(cells, NARROW_S));
        Lanes.widen(wide + 32, v128.load(cells, NARROW_Z));
      } else {
        v128.store(cells, Lanes.narrowOf(v128.load(wide), v128.load(wide, 16)), NARROW_S);
        v128.store(cells, Lanes.narrowOf(v128.load(wide, 32), v128.load(wide, 48)), NARROW_Z);
      }
      v128.store(cells, zero, PARTIAL_S);
      v128.store(cells, zero, PARTIAL_Z);
      cells += CELL;
      wide += CELL;
    }
  }
}

/** Moves every partial sum of `count` cells into `wide`, refreshes narrow, zeroes partial. */
export function flush(wide: usize, cells: usize, count: i32): void {
  Cells.settle(wide, cells, count, Totals.Flushed);
}

/**
 * Copies between a state `s`, `z` ([terms, channels] float32 rows) and the narrow totals of the
 * cells: S_n of channels 4g..4g+3 is cell g·terms + n. Into the cells when `intoCells`, else out
 * of them; returns the lanes where a copied value is NaN.
 */
function transfer(
  cells: usize,
  s: usize,
  z: usize,
  terms: i32,
  channels: i32,
  intoCells: bool,
): v128 {
  let nan = f32x4.splat(0);
  for (let g = 0; g < channels; g += 4) {
    for (let n = 0; n < terms; n++) {
      const cell = cells + <usize>((g >> 2) * terms + n) * CELL;
      const at = (<usize>(n * channels + g)) << 2;
      if (intoCells) {
        v128.store(cell, v128.load(s + at), NARROW_S);
        v128.store(cell, v128.load(z + at), NARROW_Z);
      } else {
        const sValue = v128.load(cell, NARROW_S);
        const zValue = v128.load(cell, NARROW_Z);
        v128.store(s + at, sValue);
        v128.store(z + at, zValue);
        nan = v128.or(nan, v128.or(f32x4.ne(sValue, sValue), f32x4.ne(zValue, zValue)));
      }
    }
  }
  return nan;
}

/** Starts the sums of one sequence at the state `s`, `z` (see {@link transfer}). */
export function start(
  wide: usize,
  cells: usize,
  s: usize,
  z: usize,
  terms: i32,
  channels: i32,
): void {
  transfer(cells, s, z, terms, channels, true);
  Cells.settle(wide, cells, terms * (channels >> 2), Totals.Narrow);
}

/** Restarts `count` cells from float64 totals saved at `checkpoint` (a copy of `wide`). */
export function restart(wide: usize, cells: usize, checkpoint: usize, count: i32): void {
  memory.copy(wide, checkpoint, <usize>count * CELL);
  Cells.settle(wide, cells, count, Totals.Wide);
}

/**
 * Flushes, then stores the totals rounded to float32 as the state `s`, `z` (see
 * {@link transfer}). Returns whether any total is NaN (NaN inputs are left to the float64
 * implementation).
 */
export function finish(
  wide: usize,
  cells: usize,
  s: usize,
  z: usize,
  terms: i32,
  channels: i32,
): bool {
  flush(wide, cells, terms * (channels >> 2));
  return v128.any_true(transfer(cells, s, z, terms, channels, false));
}
