/**
 * Which sequence lengths the speed panel measures, and which it skips because a measurement is
 * predicted to take too long. Predictions scale the last measured time of the same series by
 * the attention's asymptotic cost: linear in L for EA, quadratic for softmax. At short L fixed
 * overheads dominate, so this over-predicts: a length is skipped only when it is surely slow.
 */
export const DEFAULT_SPEED_LENGTHS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

export const COST_EXPONENT = { ea6: 1, softmax: 2 } as const;

export interface Measurement {
  length: number;
  milliseconds: number;
}

/** Milliseconds predicted at `length` from the longest shorter measurement, or null without one. */
export function predictMilliseconds(
  measured: readonly Measurement[],
  length: number,
  exponent: number,
): number | null {
  const shorter = measured.filter((m) => m.length < length);
  if (shorter.length === 0) return null;
  const last = shorter.reduce((a, b) => (b.length > a.length ? b : a));
  return last.milliseconds * (length / last.length) ** exponent;
}

/** Why `length` is skipped, or null to measure it. */
export function skipReason(
  measured: readonly Measurement[],
  length: number,
  exponent: number,
  budgetSeconds: number,
): string | null {
  const predicted = predictMilliseconds(measured, length, exponent);
  if (predicted === null || predicted <= budgetSeconds * 1000) return null;
  return `skipped: predicted ${(predicted / 1000).toFixed(1)} s per run, over the ${budgetSeconds} s budget`;
}

/** Sorted, distinct positive integer lengths from a comma-separated list; null if any is bad. */
export function parseLengths(text: string): number[] | null {
  const parts = text.split(',').map((part) => part.trim());
  const lengths = parts.map(Number);
  if (lengths.length === 0 || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > 65536)) {
    return null;
  }
  return [...new Set(lengths)].sort((a, b) => a - b);
}
