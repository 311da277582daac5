/**
 * Shapes and numerical rules shared by the plain TypeScript kernels.
 *
 * Arrays are flat and row-major, exactly as the backends store tensors (./records.ts). Sums
 * and ratios are formed in float64 (JS numbers); only the stored results are rounded to float32.
 */

export interface Dims {
  /** B */
  readonly batch: number;
  /** Lq */
  readonly queries: number;
  /** L */
  readonly keys: number;
  /** D */
  readonly channels: number;
}

/** 2^-1022: denominators below this count as zero, as in `@elementwise/math`. */
const MIN_NORMAL_FLOAT64 = 2 ** -1022;

/**
 * The contract's zero-denominator rule: a query whose denominator is zero (it sees no visible
 * key, or every `e^{-k²}` it sees underflowed) outputs 0 and passes no gradient. A NaN
 * denominator is not zero: it comes from a non-finite input, which must propagate (README,
 * "Non-finite inputs").
 */
export function isZeroDenominator(denominator: number): boolean {
  return Math.abs(denominator) < MIN_NORMAL_FLOAT64;
}

/** numerator / denominator, or 0 under the {@link isZeroDenominator} rule. */
export function ratio(numerator: number, denominator: number): number {
  return isZeroDenominator(denominator) ? 0 : numerator / denominator;
}
