import { type GroupFeatures, groupFeatures } from '@elementwise/math';
import { isZeroDenominator } from './common.js';
import type { StepInputs, StepOutputs } from './series.js';

/**
 * One recurrent step of grouped EA (`@elementwise/math` grouped.ts): per group of d channels,
 * with q̂ = q/√d, k̂ = k/√d and the key features `f_α = k̂^α e^{-|k̂|²}`,
 *
 *     s' = s + f(k) v,   z' = z + f(k),   y = Σ_α a_α q̂^α s'_α / Σ_α a_α q̂^α z'_α.
 *
 * Everything is summed in float64, like the oracle, which also keeps the moments of huge
 * values from overflowing before they are stored. The state is read and written once, in
 * memory order (feature-major, channels inner), which is what a step's time goes to: at d = 8,
 * t = 6 it holds 3003 features per channel.
 */
export function groupedSeriesStep(
  inputs: StepInputs,
  dims: { batch: number; channels: number; groupSize: number; order: number },
  out: StepOutputs,
): void {
  const { batch, channels, groupSize, order } = dims;
  const groups = channels / groupSize;
  const scratch = stepScratch(groupSize, order, channels);
  const { features, keyFeatures, queryFeatures, numerator, denominator } = scratch;
  const size = features.size;
  const scale = 1 / Math.sqrt(groupSize);
  for (let b = 0; b < batch; b++) {
    const row = b * channels;
    // Features are laid out [F, G], like a row of z, so the pass below reads them in order.
    for (let g = 0; g < groups; g++) {
      const first = row + g * groupSize;
      fillMonomials(features, inputs.k, first, keyFeatures, g, groups);
      let squared = 0;
      for (let c = 0; c < groupSize; c++) squared += (inputs.k[first + c] * scale) ** 2;
      const decay = Math.exp(-squared);
      for (let f = 0; f < size; f++) keyFeatures[f * groups + g] *= decay;
      fillMonomials(features, inputs.q, first, queryFeatures, g, groups);
      for (let f = 0; f < size; f++) queryFeatures[f * groups + g] *= features.coefficient[f];
    }
    numerator.fill(0);
    denominator.fill(0);
    for (let f = 0; f < size; f++) {
      const stateRow = (b * size + f) * channels;
      const zRow = (b * size + f) * groups;
      for (let g = 0; g < groups; g++) {
        const keyFeature = keyFeatures[f * groups + g];
        const queryFeature = queryFeatures[f * groups + g];
        const nextZ = inputs.z[zRow + g] + keyFeature;
        out.z[zRow + g] = nextZ;
        denominator[g] += queryFeature * nextZ;
        const first = g * groupSize;
        for (let c = first; c < first + groupSize; c++) {
          const next = inputs.s[stateRow + c] + keyFeature * inputs.v[row + c];
          out.s[stateRow + c] = next;
          numerator[c] += queryFeature * next;
        }
      }
    }
    for (let c = 0; c < channels; c++) {
      const total = denominator[(c / groupSize) | 0];
      out.y[row + c] = isZeroDenominator(total) ? 0 : numerator[c] / total;
    }
  }
}

/**
 * The monomials of one group's d values divided by √d, as column `column` of a [F, columns]
 * table.
 */
function fillMonomials(
  features: GroupFeatures,
  x: Float32Array,
  from: number,
  out: Float64Array,
  column: number,
  columns: number,
): void {
  const scale = 1 / Math.sqrt(features.groupSize);
  out[column] = 1;
  for (let f = 1; f < features.size; f++) {
    out[f * columns + column] =
      out[features.parent[f] * columns + column] * (x[from + features.variable[f]] * scale);
  }
}
/**
 * The feature table and float64 scratch of the last shape stepped, kept between calls: every
 * generated token steps the same shape, and rebuilding the table (3003 monomials at d = 8,
 * t = 6) would cost more than the step.
 */
let cache: {
  key: string;
  features: GroupFeatures;
  keyFeatures: Float64Array;
  queryFeatures: Float64Array;
  numerator: Float64Array;
  denominator: Float64Array;
} | null = null;

function stepScratch(groupSize: number, order: number, channels: number) {
  const key = `${groupSize},${order},${channels}`;
  if (cache === null || cache.key !== key) {
    const features = groupFeatures(groupSize, order);
    const groups = channels / groupSize;
    cache = {
      key,
      features,
      keyFeatures: new Float64Array(groups * features.size),
      queryFeatures: new Float64Array(groups * features.size),
      numerator: new Float64Array(channels),
      denominator: new Float64Array(groups),
    };
  }
  return cache;
}
