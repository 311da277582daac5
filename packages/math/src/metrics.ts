/** Error measures used to compare an implementation against the reference. */

function checkSameLength(reference: ArrayLike<number>, got: ArrayLike<number>): void {
  if (reference.length !== got.length) {
    throw new RangeError(
      `got must have the same length as reference (${reference.length}), got length ${got.length}`,
    );
  }
}

/**
 * `‖reference − got‖₂ / ‖reference‖₂`, the metric every implementation is held to.
 * When the reference is all zeros the ratio is undefined, so `‖got‖₂` is returned instead
 * (0 exactly when `got` is all zeros too). Any NaN in either input gives NaN.
 */
export function relativeRmsError(reference: ArrayLike<number>, got: ArrayLike<number>): number {
  checkSameLength(reference, got);
  let differenceSquares = 0;
  let referenceSquares = 0;
  let gotSquares = 0;
  for (let i = 0; i < reference.length; i++) {
    differenceSquares += (reference[i] - got[i]) ** 2;
    referenceSquares += reference[i] ** 2;
    gotSquares += got[i] ** 2;
  }
  if (referenceSquares === 0) return Math.sqrt(gotSquares);
  return Math.sqrt(differenceSquares / referenceSquares);
}

/** `max_i |reference_i − got_i|` (0 for empty inputs); NaN if any difference is NaN. */
export function maxAbsError(reference: ArrayLike<number>, got: ArrayLike<number>): number {
  checkSameLength(reference, got);
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const difference = Math.abs(reference[i] - got[i]);
    if (Number.isNaN(difference)) return Number.NaN;
    worst = Math.max(worst, difference);
  }
  return worst;
}
