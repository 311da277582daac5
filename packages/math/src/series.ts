/**
 * EA-series of order `t` (paper eq. 3-6), per channel:
 *
 *     f_n(k) = k^n e^{-k²}    a_n = 2^n / n!    n = 0..t
 *     S_n = s0_n + Σ_j m_j f_n(k_j) v_j      Z_n = z0_n + Σ_j m_j f_n(k_j)
 *     y_i = Σ_n a_n q_i^n S_n / Σ_n a_n q_i^n Z_n
 *
 * Non-causal: the sums run over every key. Causal: over `j <= i` (prefix sums). The state
 * `(s0, z0)` is whatever earlier keys contributed, so it is visible to every query.
 */
import type { ChannelSequence } from './channel.js';
import { isZeroDenominator } from './denominator.js';
import { keyFeatures, queryTerms, scaledQueryTerms } from './features.js';

export interface SeriesMoments {
  /** `S_n(i)` at `[i * (t+1) + n]`: the numerator moments query `i` sees. */
  readonly s: Float64Array;
  /** `Z_n(i)` at `[i * (t+1) + n]`: the denominator moments query `i` sees. */
  readonly z: Float64Array;
  /** `s0 + Σ` over every unmasked key: the state after the whole sequence. */
  readonly sFinal: Float64Array;
  /** `z0 + Σ` over every unmasked key. */
  readonly zFinal: Float64Array;
}

/** Adds key `j` to running moments: `s += m f(k) v`, `z += m f(k)`. */
function accumulateKey(
  s: Float64Array,
  z: Float64Array,
  sequence: ChannelSequence,
  j: number,
  order: number,
): void {
  if (sequence.mask[j] === 0) return;
  const f = keyFeatures(sequence.k[j], order);
  for (let n = 0; n <= order; n++) {
    s[n] += f[n] * sequence.v[j];
    z[n] += f[n];
  }
}

/** The moments `S_n(i), Z_n(i)` each query sees, and the final state. */
export function seriesMoments(
  sequence: ChannelSequence,
  order: number,
  causal: boolean,
  s0: Float64Array,
  z0: Float64Array,
): SeriesMoments {
  const terms = order + 1;
  const queries = sequence.q.length;
  const keys = sequence.k.length;
  const s = new Float64Array(queries * terms);
  const z = new Float64Array(queries * terms);
  const running = { s: Float64Array.from(s0), z: Float64Array.from(z0) };
  if (causal) {
    // Query i sees keys 0..i: add key i, then record (state is updated before y_i is read).
    for (let i = 0; i < queries; i++) {
      accumulateKey(running.s, running.z, sequence, i, order);
      s.set(running.s, i * terms);
      z.set(running.z, i * terms);
    }
  } else {
    for (let j = 0; j < keys; j++) accumulateKey(running.s, running.z, sequence, j, order);
    for (let i = 0; i < queries; i++) {
      s.set(running.s, i * terms);
      z.set(running.z, i * terms);
    }
  }
  return { s, z, sFinal: running.s, zFinal: running.z };
}

export interface SeriesRatio {
  /** `N_i = Σ_n a_n q_i^n S_n(i)` */
  readonly numerator: number;
  /** `M_i = Σ_n a_n q_i^n Z_n(i)` */
  readonly denominator: number;
  /** `N_i / M_i`, or 0 under the zero-denominator rule. */
  readonly y: number;
}

/**
 * Evaluates query `i` against the moments it sees; `c` holds `a_n q_i^n`, or those terms times
 * any common factor (the ratio does not change).
 */
export function seriesRatio(moments: SeriesMoments, i: number, c: Float64Array): SeriesRatio {
  const terms = c.length;
  let numerator = 0;
  let denominator = 0;
  for (let n = 0; n < terms; n++) {
    numerator += c[n] * moments.s[i * terms + n];
    denominator += c[n] * moments.z[i * terms + n];
  }
  const y = isZeroDenominator(denominator) ? 0 : numerator / denominator;
  return { numerator, denominator, y };
}

export interface QueryReading {
  /** The query terms used: `a_n q^n`, or `a_n q^{n-t}` where those overflowed. */
  readonly c: Float64Array;
  /** Whether `c` holds the terms divided by `q^t`. */
  readonly scaled: boolean;
  readonly ratio: SeriesRatio;
}

/**
 * Query `i` read with `a_n q^n`, or, where the numerator or denominator overflowed (large |q|),
 * with the same terms divided by `q^t` (features.ts, `scaledQueryTerms`). A non-finite q keeps the
 * plain reading, so it propagates as the README's non-finite rule asks.
 */
export function readQuery(
  moments: SeriesMoments,
  i: number,
  q: number,
  order: number,
): QueryReading {
  const c = queryTerms(q, order);
  const ratio = seriesRatio(moments, i, c);
  const finite = Number.isFinite(ratio.numerator) && Number.isFinite(ratio.denominator);
  if (finite || !Number.isFinite(q)) return { c, scaled: false, ratio };
  const scaled = scaledQueryTerms(q, order);
  return { c: scaled, scaled: true, ratio: seriesRatio(moments, i, scaled) };
}

export interface SeriesChannelOutput {
  /** `[Lq]` */
  readonly y: Float64Array;
  /** `[t+1]` */
  readonly sFinal: Float64Array;
  /** `[t+1]` */
  readonly zFinal: Float64Array;
}

/** EA-series output of one channel, plus its final state. */
export function seriesChannelForward(
  sequence: ChannelSequence,
  order: number,
  causal: boolean,
  s0: Float64Array,
  z0: Float64Array,
): SeriesChannelOutput {
  const moments = seriesMoments(sequence, order, causal, s0, z0);
  const y = new Float64Array(sequence.q.length);
  for (let i = 0; i < y.length; i++) {
    y[i] = readQuery(moments, i, sequence.q[i], order).ratio.y;
  }
  return { y, sFinal: moments.sFinal, zFinal: moments.zFinal };
}
