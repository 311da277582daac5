import { taylorCoefficients } from '@elementwise/math';
import { isZeroDenominator, ratio } from './common.js';
import type { BackwardRecord, ForwardRecord, StepRecord } from './records.js';

/**
 * EA-series of order t over flat float32 arrays (DESIGN.md §2), with f64 accumulators:
 *
 *     f_n(k) = k^n e^{-k²}    a_n = 2^n / n!    n = 0..t   (T = t + 1 moments)
 *     S_n = s0_n + Σ_j m_j f_n(k_j) v_j    Z_n = z0_n + Σ_j m_j f_n(k_j)
 *     y_i = Σ_n a_n q_i^n S_n / Σ_n a_n q_i^n Z_n
 *
 * Moments are kept as [T, D] (term-major) arrays per sequence, so every pass walks the sequence
 * once, row by row, with all D channels of a row side by side in memory. Scratch memory is
 * O(T·D) per call whatever the length (the causal backward adds block checkpoints): the causal
 * forms keep running sums, never prefix arrays.
 */

/**
 * Running float64 sums of one sequence, [T, D] term-major: the moments S_n, Z_n, or in the
 * backward pass the adjoints A_n, B_n (in S and Z).
 */
class Sums {
  readonly S: Float64Array;
  readonly Z: Float64Array;
  constructor(
    readonly terms: number,
    readonly channels: number,
  ) {
    this.S = new Float64Array(terms * channels);
    this.Z = new Float64Array(terms * channels);
  }

  /** Starts from sequence `b` of the states `s`, `z` ([B, T, D] float32). */
  load(s: Float32Array, z: Float32Array, b: number): void {
    const at = b * this.S.length;
    this.S.set(s.subarray(at, at + this.S.length));
    this.Z.set(z.subarray(at, at + this.Z.length));
  }

  /** Stores the sums, rounded to float32, as sequence `b` of the states `s`, `z`. */
  store(s: Float32Array, z: Float32Array, b: number): void {
    s.set(this.S, b * this.S.length);
    z.set(this.Z, b * this.Z.length);
  }
}

/** Adds key (kc, vc) of channel c to the moments: S_n += f_n(k) v, Z_n += f_n(k). */
function addKey(sums: Sums, c: number, kc: number, vc: number): void {
  const { S, Z, terms, channels } = sums;
  let f = Math.exp(-kc * kc);
  let fv = f * vc;
  for (let n = 0, at = c; n < terms; n++, at += channels) {
    S[at] += fv;
    Z[at] += f;
    f *= kc;
    fv *= kc;
  }
}

/** N / M for query qc of channel c (Horner in q), or 0 under the zero-denominator rule. */
function readQuery(sums: Sums, a: Float64Array, c: number, qc: number): number {
  const { S, Z, terms, channels } = sums;
  let numerator = 0;
  let denominator = 0;
  for (let n = terms - 1, at = c + n * channels; n >= 0; n--, at -= channels) {
    numerator = numerator * qc + a[n] * S[at];
    denominator = denominator * qc + a[n] * Z[at];
  }
  if (overflowed(numerator, denominator, qc)) {
    // Both divided by q^t: Horner in 1/q (README, "Large values").
    const r = 1 / qc;
    numerator = 0;
    denominator = 0;
    for (let n = 0, at = c; n < terms; n++, at += channels) {
      numerator = numerator * r + a[n] * S[at];
      denominator = denominator * r + a[n] * Z[at];
    }
  }
  return ratio(numerator, denominator);
}

/**
 * Whether a query's N or M overflowed with a finite q, so that it must be read with every term
 * divided by q^t: the ratio and every gradient are homogeneous in the query terms, so the common
 * factor changes nothing, and the divided terms a_n q^{n-t} never exceed a_n when |q| > 1.
 * A non-finite q is left to propagate.
 */
function overflowed(numerator: number, denominator: number, qc: number): boolean {
  return !(Number.isFinite(numerator) && Number.isFinite(denominator)) && Number.isFinite(qc);
}

/** Forward pass: y, and the final state (initial state plus every visible key). */
export function seriesForward(r: ForwardRecord): void {
  const { q, k, v, mask, y } = r;
  const { batch, queries, keys, channels, order, causal } = r;
  const terms = order + 1;
  const a = taylorCoefficients(order);
  const sums = new Sums(terms, channels);
  for (let b = 0; b < batch; b++) {
    sums.load(r.initialS, r.initialZ, b);
    const keyAt = b * keys * channels;
    const queryAt = b * queries * channels;
    if (causal) {
      // Query i sees keys 0..i: add key i, then read query i.
      for (let i = 0; i < keys; i++) {
        const visible = mask[b * keys + i] !== 0;
        const row = i * channels;
        for (let c = 0; c < channels; c++) {
          if (visible) addKey(sums, c, k[keyAt + row + c], v[keyAt + row + c]);
          y[queryAt + row + c] = readQuery(sums, a, c, q[queryAt + row + c]);
        }
      }
    } else {
      for (let j = 0; j < keys; j++) {
        if (mask[b * keys + j] === 0) continue;
        const row = keyAt + j * channels;
        for (let c = 0; c < channels; c++) addKey(sums, c, k[row + c], v[row + c]);
      }
      for (let i = 0; i < queries; i++) {
        const row = queryAt + i * channels;
        for (let c = 0; c < channels; c++) y[row + c] = readQuery(sums, a, c, q[row + c]);
      }
    }
    sums.store(r.finalS, r.finalZ, b);
  }
}

/**
 * The per-query part of the backward pass for query qc of channel c, with g = ∂ℓ/∂y:
 * α = g/M, β = -g y/M (0 when M = 0) and ∂q = Σ_n n a_n q^{n-1} (α S_n + β Z_n) = α N' + β M'.
 * Writes [dq, α, β, scaled] into `result`; where N or M overflowed, N, M, N', M' are all divided
 * by q^t (so α, β are multiplied by it) and `scaled` is 1: {@link addQuery} must then use the
 * query terms divided by q^t too.
 */
function queryGradient(
  sums: Sums,
  a: Float64Array,
  c: number,
  qc: number,
  g: number,
  result: Float64Array,
): void {
  const { S, Z, terms, channels } = sums;
  let numerator = 0;
  let denominator = 0;
  let numeratorSlope = 0;
  let denominatorSlope = 0;
  for (let n = terms - 1, at = c + n * channels; n >= 0; n--, at -= channels) {
    numeratorSlope = numeratorSlope * qc + numerator;
    denominatorSlope = denominatorSlope * qc + denominator;
    numerator = numerator * qc + a[n] * S[at];
    denominator = denominator * qc + a[n] * Z[at];
  }
  result[3] = 0;
  if (overflowed(numerator, denominator, qc)) {
    // Horner in r = 1/q: N/q^t = Σ a_n r^{t-n} S_n, and N'/q^t = -r Σ (t-n) a_n r^{t-n} S_n
    // (from ∂q = -r² ∂/∂r), which has no n = t term: the form n a_n q^{n-1} would cancel its
    // leading term against y M' and lose |q| ulps.
    const r = 1 / qc;
    const order = terms - 1;
    numerator = 0;
    denominator = 0;
    numeratorSlope = 0;
    denominatorSlope = 0;
    for (let n = 0, at = c; n < terms; n++, at += channels) {
      numeratorSlope = numeratorSlope * r + (order - n) * a[n] * S[at];
      denominatorSlope = denominatorSlope * r + (order - n) * a[n] * Z[at];
      numerator = numerator * r + a[n] * S[at];
      denominator = denominator * r + a[n] * Z[at];
    }
    numeratorSlope *= -r;
    denominatorSlope *= -r;
    result[3] = 1;
  }
  if (isZeroDenominator(denominator)) {
    result[0] = 0;
    result[1] = 0;
    result[2] = 0;
    return;
  }
  const alpha = g / denominator;
  const beta = (-alpha * numerator) / denominator;
  result[0] = alpha * numeratorSlope + beta * denominatorSlope;
  result[1] = alpha;
  result[2] = beta;
}

/**
 * Adds query (qc, α, β) of channel c to the adjoints: A_n += α a_n q^n, B_n += β a_n q^n, or
 * with a_n q^{n-t} when `scaled` (α, β then came from N/q^t and M/q^t: the products are the same).
 */
function addQuery(
  adjoints: Sums,
  a: Float64Array,
  c: number,
  qc: number,
  alpha: number,
  beta: number,
  scaled: boolean,
): void {
  const { S: A, Z: B, terms, channels } = adjoints;
  if (scaled) {
    const r = 1 / qc;
    // a_{n-1} r^{t-n+1} = a_n r^{t-n} · r · n/2, from a_t down.
    let weight = a[terms - 1];
    for (let n = terms - 1, at = c + n * channels; n >= 0; n--, at -= channels) {
      A[at] += alpha * weight;
      B[at] += beta * weight;
      weight *= (r * n) / 2;
    }
    return;
  }
  // α a_n q^n and β a_n q^n as running products: a_n q^n alone can overflow where they do not.
  let weightedAlpha = alpha;
  let weightedBeta = beta;
  for (let n = 0, at = c; n < terms; n++, at += channels) {
    A[at] += weightedAlpha;
    B[at] += weightedBeta;
    const w = (2 * qc) / (n + 1);
    weightedAlpha *= w;
    weightedBeta *= w;
  }
}

/**
 * ∂v = Σ_n f_n(k) A_n and ∂k = Σ_n f_n'(k) (v A_n + B_n) for key (kc, vc) of channel c, with
 * f_n' = n f_{n-1} - 2 f_{n+1}; both 0 for a masked key. Writes [dk, dv] into `result`.
 */
function keyGradient(
  adjoints: Sums,
  c: number,
  kc: number,
  vc: number,
  visible: boolean,
  result: Float64Array,
): void {
  const { S: A, Z: B, terms, channels } = adjoints;
  let below = 0;
  let f = visible ? Math.exp(-kc * kc) : 0;
  let dk = 0;
  let dv = 0;
  for (let n = 0, at = c; visible && n < terms; n++, at += channels) {
    const above = f * kc;
    const slope = n * below - 2 * above;
    dv += f * A[at];
    dk += slope * (vc * A[at] + B[at]);
    below = f;
    f = above;
  }
  result[0] = dk;
  result[1] = dv;
}

/** Keys per block of the causal backward pass. */
export const BLOCK = 1024;

/**
 * Backward pass (DESIGN.md §2), O(t·L·D) time.
 *
 * Non-causal: one pass over the keys for the moments, one over the queries for ∂q and the
 * adjoints A_n = dFinalS_n + Σ_i α_i a_n q_i^n (likewise B), one over the keys for ∂k, ∂v;
 * O(T·D) scratch.
 * Causal: the suffix sums A_n(j), B_n(j) are running sums of a reverse pass, which needs α_i
 * and β_i of the queries it passes. A first pass records the running moments every
 * {@link BLOCK} keys; then, block by block from the last, a forward pass from the block's
 * checkpoint gives ∂q_i, α_i, β_i (kept in float64: α = g/M overflows float32 when M is tiny)
 * and a reverse pass through the block grows A, B and writes ∂k, ∂v. Scratch: the running sums,
 * 2·T·D numbers per block of checkpoints and 2·BLOCK·D for α, β — never prefix arrays.
 * The initial state receives the adjoints over every query: ∂s0 = A(0), ∂z0 = B(0).
 */
export function seriesBackward(r: BackwardRecord): void {
  const { q, k, v, mask, dy, dq, dk, dv } = r;
  const { batch, queries, keys, channels, order, causal } = r;
  const terms = order + 1;
  const a = taylorCoefficients(order);
  const sums = new Sums(terms, channels);
  const adjoints = new Sums(terms, channels);
  const { S, Z } = sums;
  const result = new Float64Array(4);
  const blocks = causal ? Math.ceil(keys / BLOCK) : 0;
  const checkpoints = new Float64Array(blocks * 2 * terms * channels);
  const alphas = new Float64Array(causal ? Math.min(keys, BLOCK) * channels : 0);
  const betas = new Float64Array(alphas.length);
  const scales = new Uint8Array(alphas.length);
  /** Writes ∂k and ∂v of key j of sequence b from the adjoints. */
  const keyGradients = (b: number, j: number) => {
    const visible = mask[b * keys + j] !== 0;
    const row = (b * keys + j) * channels;
    for (let c = 0; c < channels; c++) {
      keyGradient(adjoints, c, k[row + c], v[row + c], visible, result);
      dk[row + c] = result[0];
      dv[row + c] = result[1];
    }
  };
  for (let b = 0; b < batch; b++) {
    sums.load(r.initialS, r.initialZ, b);
    adjoints.load(r.dFinalS, r.dFinalZ, b);
    const keyAt = b * keys * channels;
    const queryAt = b * queries * channels;
    // The moments of every key (causal: recorded at the start of every block, as checkpoints).
    for (let j = 0; j < keys; j++) {
      if (causal && j % BLOCK === 0) {
        checkpoints.set(S, (j / BLOCK) * 2 * S.length);
        checkpoints.set(Z, ((j / BLOCK) * 2 + 1) * S.length);
      }
      if (mask[b * keys + j] === 0) continue;
      const row = keyAt + j * channels;
      for (let c = 0; c < channels; c++) addKey(sums, c, k[row + c], v[row + c]);
    }
    if (causal) {
      // Blocks last to first: forward from the checkpoint for ∂q, α, β; then backward through
      // the block, growing the suffix sums A, B and writing ∂k, ∂v.
      for (let start = Math.floor((keys - 1) / BLOCK) * BLOCK; start >= 0; start -= BLOCK) {
        const end = Math.min(keys, start + BLOCK);
        const checkpoint = (start / BLOCK) * 2 * S.length;
        S.set(checkpoints.subarray(checkpoint, checkpoint + S.length));
        Z.set(checkpoints.subarray(checkpoint + S.length, checkpoint + 2 * S.length));
        for (let i = start; i < end; i++) {
          const visible = mask[b * keys + i] !== 0;
          const row = keyAt + i * channels;
          const local = (i - start) * channels;
          for (let c = 0; c < channels; c++) {
            if (visible) addKey(sums, c, k[row + c], v[row + c]);
            queryGradient(sums, a, c, q[row + c], dy[row + c], result);
            dq[row + c] = result[0];
            alphas[local + c] = result[1];
            betas[local + c] = result[2];
            scales[local + c] = result[3];
          }
        }
        for (let j = end - 1; j >= start; j--) {
          const row = keyAt + j * channels;
          const local = (j - start) * channels;
          for (let c = 0; c < channels; c++) {
            const scaled = scales[local + c] === 1;
            addQuery(adjoints, a, c, q[row + c], alphas[local + c], betas[local + c], scaled);
          }
          keyGradients(b, j);
        }
      }
    } else {
      for (let i = 0; i < queries; i++) {
        const row = queryAt + i * channels;
        for (let c = 0; c < channels; c++) {
          const qc = q[row + c];
          queryGradient(sums, a, c, qc, dy[row + c], result);
          dq[row + c] = result[0];
          addQuery(adjoints, a, c, qc, result[1], result[2], result[3] === 1);
        }
      }
      for (let j = 0; j < keys; j++) keyGradients(b, j);
    }
    adjoints.store(r.dInitialS, r.dInitialZ, b);
  }
}

/**
 * The step's coefficients and float64 running sums, kept between calls: a token costs
 * microseconds, and allocating these each time would add garbage to every generated token.
 */
let stepCache: { order: number; a: Float64Array; sums: Sums } | null = null;

function stepScratch(order: number, channels: number) {
  if (stepCache === null || stepCache.order !== order || stepCache.sums.channels !== channels) {
    stepCache = { order, a: taylorCoefficients(order), sums: new Sums(order + 1, channels) };
  }
  return stepCache;
}

/** One recurrent step: s' = s + f(k) v, z' = z + f(k), y = Σ a_n q^n s'_n / Σ a_n q^n z'_n. */
export function seriesStep(r: StepRecord): void {
  const { batch, channels, order } = r;
  const { a, sums } = stepScratch(order, channels);
  for (let b = 0; b < batch; b++) {
    sums.load(r.s, r.z, b);
    const row = b * channels;
    for (let c = 0; c < channels; c++) {
      addKey(sums, c, r.k[row + c], r.v[row + c]);
      r.y[row + c] = readQuery(sums, a, c, r.q[row + c]);
    }
    sums.store(r.nextS, r.nextZ, b);
  }
}
