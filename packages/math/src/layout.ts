/**
 * Moving one channel of one batch element in and out of flat row-major arrays.
 *
 * EA never mixes channels or batch elements, so every reference implementation works on plain
 * 1-D sequences; these helpers are the only place that knows the `[B, rows, D]` layout.
 */

/** Column `c` of batch element `b` from a row-major `[B, rows, D]` array. */
export function readColumn(
  data: ArrayLike<number>,
  rows: number,
  channels: number,
  b: number,
  c: number,
): Float64Array {
  const column = new Float64Array(rows);
  for (let r = 0; r < rows; r++) column[r] = data[(b * rows + r) * channels + c];
  return column;
}

/** Writes `column` into column `c` of batch element `b` of a row-major `[B, rows, D]` array. */
export function writeColumn(
  target: Float64Array,
  column: ArrayLike<number>,
  rows: number,
  channels: number,
  b: number,
  c: number,
): void {
  for (let r = 0; r < rows; r++) target[(b * rows + r) * channels + c] = column[r];
}

/** Row `b` of a `[B, L]` mask as 0/1 values; all ones when there is no mask. */
export function readMaskRow(mask: ArrayLike<number> | undefined, length: number, b: number) {
  const row = new Float64Array(length).fill(1);
  if (mask !== undefined) for (let j = 0; j < length; j++) row[j] = mask[b * length + j];
  return row;
}
