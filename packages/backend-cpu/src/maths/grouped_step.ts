import { type GroupFeatures, groupFeatures } from '@elementwise/math';
import { ratio } from './common.js';
import type { GroupedStepRecord } from './records.js';

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
export function groupedSeriesStep(r: GroupedStepRecord): void {
  const { batch, channels, groupSize, order, y } = r;
  const groups = channels / groupSize;
  const scratch = stepScratch(groupSize, order, channels);
  const { features, monomial, keyFeatures, queryFeatures, numerator, denominator } = scratch;
  const size = features.size;
  const scale = 1 / Math.sqrt(groupSize);
  for (let b = 0; b < batch; b++) {
    const row = b * channels;
    // Features are laid out [F, G], like a row of z, so the pass below reads them in order;
    // each group's monomials are built contiguously first, then written into their column.
    for (let g = 0; g < groups; g++) {
      const first = row + g * groupSize;
      fillMonomials(features, r.k, first, monomial);
      let squared = 0;
      for (let c = 0; c < groupSize; c++) squared += (r.k[first + c] * scale) ** 2;
      const decay = Math.exp(-squared);
      for (let f = 0; f < size; f++) keyFeatures[f * groups + g] = monomial[f] * decay;
      fillMonomials(features, r.q, first, monomial);
      for (let f = 0; f < size; f++) {
        queryFeatures[f * groups + g] = monomial[f] * features.coefficient[f];
      }
    }
    numerator.fill(0);
    denominator.fill(0);
    // The arrays in locals: V8 does not hoist the property reads out of the loop by itself.
    const { s: sIn, v: vIn, z: zIn, nextS: sOut, nextZ: zOut } = r;
    for (let f = 0; f < size; f++) {
      const stateRow = (b * size + f) * channels;
      const zRow = (b * size + f) * groups;
      for (let g = 0; g < groups; g++) {
        const keyFeature = keyFeatures[f * groups + g];
        const queryFeature = queryFeatures[f * groups + g];
        const nextZ = zIn[zRow + g] + keyFeature;
        zOut[zRow + g] = nextZ;
        denominator[g] += queryFeature * nextZ;
        // Four channels per iteration: a loop of 8 (d = 8) costs more in loop overhead than in
        // arithmetic.
        const first = g * groupSize;
        const end = first + groupSize;
        let c = first;
        for (; c + 3 < end; c += 4) {
          const at = stateRow + c;
          const value = row + c;
          const next0 = sIn[at] + keyFeature * vIn[value];
          const next1 = sIn[at + 1] + keyFeature * vIn[value + 1];
          const next2 = sIn[at + 2] + keyFeature * vIn[value + 2];
          const next3 = sIn[at + 3] + keyFeature * vIn[value + 3];
          sOut[at] = next0;
          sOut[at + 1] = next1;
          sOut[at + 2] = next2;
          sOut[at + 3] = next3;
          numerator[c] += queryFeature * next0;
          numerator[c + 1] += queryFeature * next1;
          numerator[c + 2] += queryFeature * next2;
          numerator[c + 3] += queryFeature * next3;
        }
        for (; c < end; c++) {
          const next = sIn[stateRow + c] + keyFeature * vIn[row + c];
          sOut[stateRow + c] = next;
          numerator[c] += queryFeature * next;
        }
      }
    }
    for (let c = 0; c < channels; c++) {
      const total = denominator[(c / groupSize) | 0];
      y[row + c] = ratio(numerator[c], total);
    }
  }
}

/** The monomials of one group's d values (from `from`) divided by √d, into `out` [F]. */
function fillMonomials(
  features: GroupFeatures,
  x: Float32Array,
  from: number,
  out: Float64Array,
): void {
  const scale = 1 / Math.sqrt(features.groupSize);
  const { parent, variable } = features;
  out[0] = 1;
  for (let f = 1; f < features.size; f++) {
    out[f] = out[parent[f]] * (x[from + variable[f]] * scale);
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
  /** One group's monomials, [F]. */
  monomial: Float64Array;
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
      monomial: new Float64Array(features.size),
      keyFeatures: new Float64Array(groups * features.size),
      queryFeatures: new Float64Array(groups * features.size),
      numerator: new Float64Array(channels),
      denominator: new Float64Array(groups),
    };
  }
  return cache;
}
