import type { ScanGeometry } from './geometry.js';
import { ZERO_DENOMINATOR_WGSL } from './wgsl.js';

/**
 * WGSL shared by the series programs (order t, T = t + 1 moments), per channel:
 *
 *     f_n(k) = k^n e^{-k²}   a_n = 2^n / n!
 *     key terms    (S_n, Z_n) += m (f_n(k) v, f_n(k))
 *     query terms  (A_n, B_n) += (α a_n q^n, β a_n q^n)
 *
 * A query whose M would overflow float32 or leave α = g/M subnormal (large |q|) is read with every
 * term divided by q^t, by Horner in 1/q: y and every gradient are homogeneous in the query terms,
 * so the common factor cancels (α, β then carry q^t, and the adjoint terms use a_n q^{n-t}). A
 * non-finite q keeps the plain reading and propagates.
 *
 * A running state is one `array<f32, 2T>`: entries 0..T-1 hold S (or A), T..2T-1 hold Z (or B).
 * Tensor inputs are bound by name: `kIn, vIn, maskIn` for keys, `qIn` for queries, `dyIn` for
 * upstream gradients, `queryInfo` for the packed per-query (∂q, α, β, scaled) of the backward
 * pass (scaled is 1 where the query was read divided by q^t).
 */

/** `a_n = 2^n / n!`, n = 0..order, computed in float64. */
export function taylorCoefficients(order: number): number[] {
  const a = [1];
  for (let n = 1; n <= order; n++) a.push((a[n - 1] * 2) / n);
  return a;
}

const literal = (x: number) => {
  const text = Math.fround(x).toPrecision(9);
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
};

/** Constants and the moment algebra; `geometry.terms` fixes T. */
export function seriesPrelude(geometry: ScanGeometry): string {
  const { terms, invocations, positions } = geometry;
  const a = taylorCoefficients(terms - 1)
    .map(literal)
    .join(', ');
  return `
  const T : i32 = ${terms};
  const TT : i32 = ${2 * terms};
  const W : i32 = ${invocations};
  const P : i32 = ${positions};
  var<private> COEF : array<f32, ${terms}> = array<f32, ${terms}>(${a});
  ${ZERO_DENOMINATOR_WGSL}
  const SCALED_FLOOR : f32 = 0x1p-100f;
  fn isFiniteValue(x : f32) -> bool {
    return abs(x) <= 0x1.fffffep+127f;
  }

  // N, M and (for ∂q) N', M' of query q. Plain: Horner in q. Scaled: everything divided by q^t,
  // Horner in r = 1/q, with N'/q^t written as -r² Σ (t-n) a_n r^{t-n-1} S_n, whose leading term
  // does not cancel against y M'. Where |q| > 1 the scaled reading is used unless its M is below
  // SCALED_FLOOR (moderate |q| at high orders, where dividing by q^t underflows) and the plain M
  // is finite: so neither M nor α = g/M overflows or turns subnormal (GPUs may flush those to
  // zero), and ∂q keeps its digits. A non-finite q keeps the plain reading and propagates. The
  // second vector is all 1 when scaled.
  fn readMoments(state : ptr<function, array<f32, ${2 * terms}>>, q : f32) -> array<vec4<f32>, 2> {
    var numerator = 0.0;
    var denominator = 0.0;
    var numeratorSlope = 0.0;
    var denominatorSlope = 0.0;
    for (var n = T - 1; n >= 0; n--) {
      numeratorSlope = numeratorSlope * q + numerator;
      denominatorSlope = denominatorSlope * q + denominator;
      numerator = numerator * q + COEF[n] * (*state)[n];
      denominator = denominator * q + COEF[n] * (*state)[T + n];
    }
    let r = 1.0 / q;
    var scaledNumerator = 0.0;
    var scaledDenominator = 0.0;
    var scaledNumeratorSlope = 0.0;
    var scaledDenominatorSlope = 0.0;
    for (var n = 0; n < T; n++) {
      let weight = f32(T - 1 - n) * COEF[n];
      scaledNumeratorSlope = scaledNumeratorSlope * r + weight * (*state)[n];
      scaledDenominatorSlope = scaledDenominatorSlope * r + weight * (*state)[T + n];
      scaledNumerator = scaledNumerator * r + COEF[n] * (*state)[n];
      scaledDenominator = scaledDenominator * r + COEF[n] * (*state)[T + n];
    }
    // The slope loop ran one step too far (n = t adds weight 0): divide that r back out.
    let scale = -r;
    let useScaled = isFiniteValue(q) && abs(q) > 1.0 && (!isFiniteValue(denominator) ||
      abs(scaledDenominator) >= SCALED_FLOOR);
    if (useScaled) {
      return array<vec4<f32>, 2>(
        vec4<f32>(scaledNumerator, scaledDenominator, scale * scaledNumeratorSlope,
          scale * scaledDenominatorSlope),
        vec4<f32>(1.0));
    }
    return array<vec4<f32>, 2>(
      vec4<f32>(numerator, denominator, numeratorSlope, denominatorSlope), vec4<f32>(0.0));
  }

  // N / M of query q, or 0 when M is zero.
  fn readQuery(state : ptr<function, array<f32, ${2 * terms}>>, q : f32) -> f32 {
    let moments = readMoments(state, q)[0];
    return quotientOrZero(moments.x, moments.y);
  }

  // Adds key k's terms f_n(k) v and f_n(k) to a state, f_n(k) = k^n e^{-k²} built from e^{-k²}
  // upward, so a key whose e^{-k²} underflowed adds exact zeros however large k^n would be.
  fn addKeyFeatures(state : ptr<function, array<f32, ${2 * terms}>>, k : f32, v : f32) {
    var f = exp(-k * k);
    for (var n = 0; n < T; n++) {
      (*state)[n] += f * v;
      (*state)[T + n] += f;
      f *= k;
    }
  }

  // f_n(k) alone, built as in addKeyFeatures.
  fn keyFeature(k : f32, n : i32) -> f32 {
    var f = exp(-k * k);
    for (var m = 0; m < n; m++) { f *= k; }
    return f;
  }

  // (∂q, α, β, scaled) of query q with upstream gradient g: α = g/M, β = -g y/M,
  // ∂q = α N' + β M'; scaled = 1 where N, M, N', M' were divided by q^t. ∂q, α, β are zero when M
  // is zero.
  fn queryGradient(state : ptr<function, array<f32, ${2 * terms}>>, q : f32, g : f32) -> vec4<f32> {
    let read = readMoments(state, q);
    let moments = read[0];
    let scaled = read[1].x;
    if (isZeroDenominator(moments.y)) { return vec4<f32>(0.0, 0.0, 0.0, scaled); }
    let alpha = g / moments.y;
    let beta = -alpha * (moments.x / moments.y);
    return vec4<f32>(alpha * moments.z + beta * moments.w, alpha, beta, scaled);
  }

  // (∂k, ∂v) of a visible key: ∂v = Σ f_n A_n, ∂k = Σ f_n' (v A_n + B_n), f_n' = n f_{n-1} - 2 f_{n+1}.
  fn keyGradient(state : ptr<function, array<f32, ${2 * terms}>>, k : f32, v : f32) -> vec2<f32> {
    var below = 0.0;
    var f = exp(-k * k);
    var dk = 0.0;
    var dv = 0.0;
    for (var n = 0; n < T; n++) {
      let above = f * k;
      let slope = f32(n) * below - 2.0 * above;
      dv += f * (*state)[n];
      dk += slope * (v * (*state)[n] + (*state)[T + n]);
      below = f;
      f = above;
    }
    return vec2<f32>(dk, dv);
  }
  `;
}

/** Adds the terms of key j of (b, c) to a state: `addKeyTerms(&state, b, j, c)`. */
export const KEY_TERMS_WGSL = `
  fn addKeyTerms(state : ptr<function, array<f32, TT>>, b : i32, j : i32, c : i32) {
    let keys = uniforms.kInShape.y;
    let channels = uniforms.kInShape.z;
    if (f32(maskIn[b * keys + j]) == 0.0) { return; }
    let at = (b * keys + j) * channels + c;
    addKeyFeatures(state, f32(kIn[at]), f32(vIn[at]));
  }
  fn sequenceLength() -> i32 { return uniforms.kInShape.y; }
`;

/** Adds the adjoint terms of query i of (b, c) to a state: `addQueryTerms(&state, b, i, c)`. */
export const QUERY_TERMS_WGSL = `
  fn addQueryTerms(state : ptr<function, array<f32, TT>>, b : i32, i : i32, c : i32) {
    let queries = uniforms.qInShape.y;
    let channels = uniforms.qInShape.z;
    let q = f32(qIn[(b * queries + i) * channels + c]);
    let info = ((b * queries + i) * 4) * channels + c;
    let alpha = queryInfo[info + channels];
    let beta = queryInfo[info + 2 * channels];
    if (queryInfo[info + 3 * channels] != 0.0) {
      // The query was read divided by q^t: weights a_n r^{t-n}, from a_t down.
      let r = 1.0 / q;
      var weight = COEF[T - 1];
      for (var n = T - 1; n >= 0; n--) {
        (*state)[n] += alpha * weight;
        (*state)[T + n] += beta * weight;
        weight *= r * f32(n) * 0.5;
      }
      return;
    }
    // α a_n q^n and β a_n q^n as running products (a_{n+1} q^{n+1} = a_n q^n · 2q/(n+1)):
    // a_n q^n alone can overflow where N, M and these products do not.
    var weightedAlpha = alpha;
    var weightedBeta = beta;
    for (var n = 0; n < T; n++) {
      (*state)[n] += weightedAlpha;
      (*state)[T + n] += weightedBeta;
      let w = q * 2.0 / f32(n + 1);
      weightedAlpha *= w;
      weightedBeta *= w;
    }
  }
  fn sequenceLength() -> i32 { return uniforms.qInShape.y; }
`;

/**
 * Workgroup scan of every invocation's 2T partial sums (Hillis–Steele in workgroup memory).
 * After `scanWorkgroup(&partial, t)`, `partial` holds the sum over the invocations before t
 * (after t when `reverse`), i.e. the exclusive scan, and `blockTotal(m)` reads the sum over all
 * W invocations. Every invocation of the workgroup must call it (it synchronises).
 */
export function workgroupScan(geometry: ScanGeometry, reverse: boolean): string {
  const neighbour = reverse ? 't + offset' : 't - offset';
  const inRange = reverse ? 'source < W' : 'source >= 0';
  const previous = reverse ? 't + 1' : 't - 1';
  const previousInRange = reverse ? 'previous < W' : 'previous >= 0';
  return `
  var<workgroup> scanScratch : array<f32, ${2 * geometry.terms * geometry.invocations}>;

  fn scanWorkgroup(partial : ptr<function, array<f32, TT>>, t : i32) {
    for (var m = 0; m < TT; m++) { scanScratch[m * W + t] = (*partial)[m]; }
    workgroupBarrier();
    for (var offset = 1; offset < W; offset = offset * 2) {
      let source = ${neighbour};
      let valid = ${inRange};
      let sourceAt = clamp(source, 0, W - 1);
      var incoming : array<f32, TT>;
      for (var m = 0; m < TT; m++) {
        incoming[m] = select(0.0, scanScratch[m * W + sourceAt], valid);
      }
      workgroupBarrier();
      for (var m = 0; m < TT; m++) { scanScratch[m * W + t] += incoming[m]; }
      workgroupBarrier();
    }
    let previous = ${previous};
    let previousValid = ${previousInRange};
    let previousAt = clamp(previous, 0, W - 1);
    for (var m = 0; m < TT; m++) {
      (*partial)[m] = select(0.0, scanScratch[m * W + previousAt], previousValid);
    }
  }

  fn blockTotal(m : i32) -> f32 {
    return scanScratch[m * W + ${reverse ? '0' : 'W - 1'}];
  }
  `;
}
