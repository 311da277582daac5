/** The schedule `train` follows, for custom loops that want the same one. */
export interface LearningRateSchedule {
  /** Steps in all. */
  steps: number;
  /** The rate after warm-up. */
  peak: number;
  warmupSteps: number;
  /** The rate at the last step. */
  minimum: number;
}

/**
 * Learning rate at `step` (1-based): linear warm-up from 0 over `warmupSteps`, then cosine decay
 * from `peak` (first step after warm-up) to `minimum` (last step; a single decay step keeps `peak`).
 */
export function learningRateAt(step: number, schedule: LearningRateSchedule): number {
  const { steps, peak, warmupSteps, minimum } = schedule;
  if (step <= warmupSteps) return (peak * step) / warmupSteps;
  const decaySteps = steps - warmupSteps;
  const progress = decaySteps <= 1 ? 0 : (step - warmupSteps - 1) / (decaySteps - 1);
  return minimum + (peak - minimum) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
