import type { ScanGeometry } from './geometry.js';

/**
 * WGSL shared by the series programs (order t, T = t + 1 moments), per channel:
 *
 *     f_n(k) = k^n e^{-k²}   a_n = 2^n / n!
 *     key terms    (S_n, Z_n) += m (f_n(k) v, f_n(k))
 *     query terms  (A_n, B_n) += (α a_n q^n, β a_n q^n)
 *
 * A running state is one `array<f32, 2T>`: entries 0..T-1 hold S (or A), T..2T-1 hold Z (or B).
 * Tensor inputs are bound by name: `kIn, vIn, maskIn` for keys, `qIn` for queries, `dyIn` for
 * upstream gradients, `queryInfo` for the packed per-query (∂q, α, β) of the backward pass.
 */

/** Float32 denominators below the smallest normal number (or NaN) count as zero. */
export const ZERO_DENOMINATOR_WGSL = `
  fn isZeroDenominator(x : f32) -> bool {
    return !(abs(x) >= 1.17549435e-38);
  }
`;

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

  // N / M of query q, or 0 when M is zero: Horner in q.
  fn readQuery(state : ptr<function, array<f32, ${2 * terms}>>, q : f32) -> f32 {
    var numerator = 0.0;
    var denominator = 0.0;
    for (var n = T - 1; n >= 0; n--) {
      numerator = numerator * q + COEF[n] * (*state)[n];
      denominator = denominator * q + COEF[n] * (*state)[T + n];
    }
    if (isZeroDenominator(denominator)) { return 0.0; }
    return numerator / denominator;
  }

  // (∂q, α, β) of query q with upstream gradient g: α = g/M, β = -g y/M, ∂q = α N' + β M'.
  // All zero when M is zero.
  fn queryGradient(state : ptr<function, array<f32, ${2 * terms}>>, q : f32, g : f32) -> vec3<f32> {
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
    if (isZeroDenominator(denominator)) { return vec3<f32>(0.0); }
    let alpha = g / denominator;
    let beta = -alpha * (numerator / denominator);
    return vec3<f32>(alpha * numeratorSlope + beta * denominatorSlope, alpha, beta);
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
    let k = f32(kIn[at]);
    let v = f32(vIn[at]);
    var f = exp(-k * k);
    for (var n = 0; n < T; n++) {
      (*state)[n] += f * v;
      (*state)[T + n] += f;
      f *= k;
    }
  }
  fn sequenceLength() -> i32 { return uniforms.kInShape.y; }
`;

/** Adds the adjoint terms of query i of (b, c) to a state: `addQueryTerms(&state, b, i, c)`. */
export const QUERY_TERMS_WGSL = `
  fn addQueryTerms(state : ptr<function, array<f32, TT>>, b : i32, i : i32, c : i32) {
    let queries = uniforms.qInShape.y;
    let channels = uniforms.qInShape.z;
    let q = f32(qIn[(b * queries + i) * channels + c]);
    let info = ((b * queries + i) * 3) * channels + c;
    let alpha = queryInfo[info + channels];
    let beta = queryInfo[info + 2 * channels];
    var power = 1.0;
    for (var n = 0; n < T; n++) {
      let weight = COEF[n] * power;
      (*state)[n] += alpha * weight;
      (*state)[T + n] += beta * weight;
      power *= q;
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
