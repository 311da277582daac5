/**
 * Backward pass of EA-series for one channel, in O(t L) like the forward pass.
 *
 * With `N_i, M_i` the numerator and denominator of query i and `g_i = ∂ℓ/∂y_i`:
 *
 *     α_i = g_i / M_i          β_i = -g_i y_i / M_i          (both 0 when M_i = 0)
 *     ∂q_i = Σ_n n a_n q_i^{n-1} (α_i S_n(i) + β_i Z_n(i))
 *     A_n(j) = Σ_{i∈I(j)} α_i a_n q_i^n       B_n(j) = Σ_{i∈I(j)} β_i a_n q_i^n
 *     ∂v_j = Σ_n m_j f_n(k_j) A_n(j)
 *     ∂k_j = Σ_n m_j f_n'(k_j) (v_j A_n(j) + B_n(j))
 *
 * `I(j)` is every query (non-causal) or the queries `i >= j` (causal: suffix sums). The
 * initial state is seen by every query, so `∂s0_n = Σ_i α_i a_n q_i^n` and likewise `∂z0`.
 * An upstream gradient of the final state `(dsFinal, dzFinal)` reaches every key and the
 * initial state directly, so it seeds `A` and `B`.
 */
import type { ChannelSequence } from './channel.js';
import { isZeroDenominator } from './denominator.js';
import { keyFeatureDerivatives, keyFeatures } from './features.js';
import { readQuery, seriesMoments } from './series.js';

export interface SeriesChannelGradients {
  readonly dq: Float64Array;
  readonly dk: Float64Array;
  readonly dv: Float64Array;
  /** `[t+1]` */
  readonly ds0: Float64Array;
  /** `[t+1]` */
  readonly dz0: Float64Array;
}

export function seriesChannelBackward(
  sequence: ChannelSequence,
  g: Float64Array,
  order: number,
  causal: boolean,
  s0: Float64Array,
  z0: Float64Array,
  dsFinal: Float64Array,
  dzFinal: Float64Array,
): SeriesChannelGradients {
  const terms = order + 1;
  const { q, k, v, mask } = sequence;
  const moments = seriesMoments(sequence, order, causal, s0, z0);

  // Per query: ∂q_i, and α_i a_n q_i^n, β_i a_n q_i^n for the key sums below.
  const dq = new Float64Array(q.length);
  const alphaTerms = new Float64Array(q.length * terms);
  const betaTerms = new Float64Array(q.length * terms);
  for (let i = 0; i < q.length; i++) {
    // c may carry a common factor 1/q^t (large |q|); α, β then carry q^t, and every product
    // below (α c_n, β c_n, and ∂q, homogeneous of degree 0) is unchanged.
    const {
      c,
      scaled,
      ratio: { denominator, y },
    } = readQuery(moments, i, q[i], order);
    // Zero-denominator rule: no gradient flows through this query.
    if (isZeroDenominator(denominator)) continue;
    const alpha = g[i] / denominator;
    const beta = (-g[i] * y) / denominator;
    for (let n = 0; n < terms; n++) {
      const sn = moments.s[i * terms + n];
      const zn = moments.z[i * terms + n];
      // Plain: n a_n q^{n-1} = 2 a_{n-1} q^{n-1}, twice the previous query term. Scaled
      // (c_n = a_n r^{t-n}, r = 1/q): ∂q = -r² ∂y/∂r, i.e. -r (t-n) c_n. This form has no
      // n = t term: the plain one's leading terms cancel against y M' and lose |q| ulps.
      const slope = scaled ? (-(order - n) * c[n]) / q[i] : n > 0 ? 2 * c[n - 1] : 0;
      dq[i] += slope * (alpha * sn + beta * zn);
    }
    for (let n = 0; n < terms; n++) {
      alphaTerms[i * terms + n] = alpha * c[n];
      betaTerms[i * terms + n] = beta * c[n];
    }
  }

  const a = Float64Array.from(dsFinal);
  const b = Float64Array.from(dzFinal);
  const addQuery = (i: number) => {
    for (let n = 0; n < terms; n++) {
      a[n] += alphaTerms[i * terms + n];
      b[n] += betaTerms[i * terms + n];
    }
  };

  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const keyGradient = (j: number) => {
    // A masked key, or one whose e^{-k²} underflowed, contributes exactly nothing.
    if (mask[j] === 0) return;
    const f = keyFeatures(k[j], order);
    if (f[0] === 0) return;
    const df = keyFeatureDerivatives(f, order);
    for (let n = 0; n < terms; n++) {
      dv[j] += f[n] * a[n];
      dk[j] += df[n] * (v[j] * a[n] + b[n]);
    }
  };

  if (causal) {
    // Walk keys backwards so A(j), B(j) are suffix sums over queries i >= j.
    for (let j = k.length - 1; j >= 0; j--) {
      addQuery(j);
      keyGradient(j);
    }
  } else {
    for (let i = 0; i < q.length; i++) addQuery(i);
    for (let j = 0; j < k.length; j++) keyGradient(j);
  }
  // Every query sees the initial state, so its gradient is the full sum, A(0) and B(0).
  return { dq, dk, dv, ds0: a, dz0: b };
}
