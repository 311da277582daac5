/**
 * The zero-denominator rule shared by every reference implementation.
 *
 * A query whose denominator is zero (no unmasked key visible, or every visible `e^{-k²}`
 * underflowed) has no meaningful weighted average. It outputs 0 and passes no gradient to
 * anything through that query, so no implementation ever produces NaN.
 *
 * Subnormal denominators (below 2^-1022) count as zero too: `e^{-k²}` has lost most of its
 * precision there, and dividing by such a value can overflow the gradients to infinity.
 */
export function isZeroDenominator(denominator: number): boolean {
  // Written as a negated comparison so a NaN denominator also counts as zero.
  return !(Math.abs(denominator) >= MIN_NORMAL_FLOAT64);
}

/** 2^-1022, the smallest positive normal float64. */
export const MIN_NORMAL_FLOAT64 = 2 ** -1022;
