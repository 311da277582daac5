/**
 * Learning rate at `step` (1-based): linear warm-up from 0 over `warmupSteps`, then cosine decay
 * from `peak` (first step after warm-up) to `minimum` (last step; a single decay step keeps `peak`).
 */
export function learningRateAt(
  step: number,
  schedule: { steps: number; peak: number; warmupSteps: number; minimum: number },
): number {
  const { steps, peak, warmupSteps, minimum } = schedule;
  if (step <= warmupSteps) return (peak * step) / warmupSteps;
  const decaySteps = steps - warmupSteps;
  const progress = decaySteps <= 1 ? 0 : (step - warmupSteps - 1) / (decaySteps - 1);
  return minimum + (peak - minimum) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
