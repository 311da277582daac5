/** Index ranges `[start, end)` of a fixed contiguous train/validation/test split. */
export interface SplitRanges {
  train: [number, number];
  validation: [number, number];
  test: [number, number];
}

export type SplitName = keyof SplitRanges;
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

/**
 * Cuts `count` ordered items into three contiguous blocks by position: the first
 * `trainFraction`, then `validationFraction`, then the rest. Position splits keep neighbouring
 * items (overlapping text, adjacent days) from landing on both sides of a boundary.
 */
export function contiguousSplit(
  count: number,
  trainFraction: number,
  validationFraction: number,
): SplitRanges {
  if (!Number.isInteger(count) || count < 3) {
    throw new Error(`contiguousSplit: count must be an integer ≥ 3, got ${count}`);
  }
  if (!(trainFraction > 0 && validationFraction > 0 && trainFraction + validationFraction < 1)) {
    throw new Error(
      `contiguousSplit: fractions must be positive with trainFraction + validationFraction < 1, got ${trainFraction} and ${validationFraction}`,
    );
  }
  const trainEnd = Math.round(count * trainFraction);
  const validationEnd = Math.round(count * (trainFraction + validationFraction));
  return {
    train: [0, trainEnd],
    validation: [trainEnd, validationEnd],
    test: [validationEnd, count],
  };
}
