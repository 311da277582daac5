/**
 * Exact element-wise attention (paper eq. 1-2), per channel:
 *
 *     y_i = Σ_j w_ij v_j / Σ_j w_ij,   w_ij = exp(-(q_i - k_j)^2)
 *
 * Quadratic in the sequence length; it is the reference the series form approximates.
 */
import type { ChannelSequence } from './channel.js';
import { isZeroDenominator } from './denominator.js';

interface QueryWeights {
  /** Weight of each key for this query, 0 for keys it cannot see. */
  readonly w: Float64Array;
  /** `Σ_j w_ij`: at least 1 when any key is visible, 0 otherwise. */
  readonly total: number;
}

/**
 * Weights of query `i` over the keys it sees (unmasked, and `j <= i` when causal).
 *
 * Each weight is divided by the largest one, i.e. the exponent is shifted by the smallest
 * `(q_i - k_j)^2` over visible keys. The ratio `y_i` is unchanged, the largest weight becomes
 * exactly 1, so the denominator cannot underflow however far `q` and `k` are from 0.
 * The shift also leaves every derivative of `y_i` unchanged, because `y_i` itself is unchanged.
 */
function queryWeights(sequence: ChannelSequence, i: number, causal: boolean): QueryWeights {
  const { q, k, mask } = sequence;
  const lastVisible = causal ? i : k.length - 1;
  let smallestDistance = Number.POSITIVE_INFINITY;
  for (let j = 0; j <= lastVisible; j++) {
    if (mask[j] !== 0) smallestDistance = Math.min(smallestDistance, (q[i] - k[j]) ** 2);
  }
  const w = new Float64Array(k.length);
  let total = 0;
  if (smallestDistance === Number.POSITIVE_INFINITY) return { w, total };
  for (let j = 0; j <= lastVisible; j++) {
    if (mask[j] === 0) continue;
    w[j] = Math.exp(-((q[i] - k[j]) ** 2 - smallestDistance));
    total += w[j];
  }
  return { w, total };
}

function weightedMean(w: Float64Array, v: Float64Array, total: number): number {
  let numerator = 0;
  for (let j = 0; j < v.length; j++) numerator += w[j] * v[j];
  return numerator / total;
}

/** Exact EA output `y` (`[Lq]`) of one channel. */
export function exactChannelForward(sequence: ChannelSequence, causal: boolean): Float64Array {
  const y = new Float64Array(sequence.q.length);
  for (let i = 0; i < y.length; i++) {
    const { w, total } = queryWeights(sequence, i, causal);
    y[i] = isZeroDenominator(total) ? 0 : weightedMean(w, sequence.v, total);
  }
  return y;
}

export interface ChannelGradients {
  readonly dq: Float64Array;
  readonly dk: Float64Array;
  readonly dv: Float64Array;
}

/**
 * Gradients of `Σ_i g_i y_i` for exact EA on one channel. With `p_ij = w_ij / Σ_j' w_ij'`:
 *
 *     ∂y_i/∂v_j = p_ij
 *     ∂y_i/∂q_i = Σ_j -2 (q_i - k_j) p_ij (v_j - y_i)
 *     ∂y_i/∂k_j =      2 (q_i - k_j) p_ij (v_j - y_i)
 *
 * (from `∂w_ij/∂q_i = -2 (q_i - k_j) w_ij = -∂w_ij/∂k_j` and the quotient rule).
 */
export function exactChannelBackward(
  sequence: ChannelSequence,
  g: Float64Array,
  causal: boolean,
): ChannelGradients {
  const { q, k, v } = sequence;
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let i = 0; i < q.length; i++) {
    const { w, total } = queryWeights(sequence, i, causal);
    // Zero-denominator rule: the query outputs 0 and passes no gradient.
    if (isZeroDenominator(total)) continue;
    const y = weightedMean(w, v, total);
    for (let j = 0; j < k.length; j++) {
      if (w[j] === 0) continue;
      const p = w[j] / total;
      dv[j] += g[i] * p;
      const shared = 2 * (q[i] - k[j]) * p * (v[j] - y) * g[i];
      dq[i] -= shared;
      dk[j] += shared;
    }
  }
  return { dq, dk, dv };
}
