/**
 * The two halves of the factorised series weight `e^{-k²} T_t(2qk) = Σ_n (a_n q^n) f_n(k)`.
 * Internal helpers shared by the series forward and backward passes.
 */

/**
 * `f_n(k) = k^n e^{-k²}` for `n = 0..order+1`.
 *
 * One term beyond the order is returned because the derivative needs it:
 * `f_n'(k) = n k^{n-1} e^{-k²} - 2 k^{n+1} e^{-k²} = n f_{n-1}(k) - 2 f_{n+1}(k)`.
 * Built by repeated multiplication from `e^{-k²}`, so an underflowed `e^{-k²}` yields exact
 * zeros for every `n` (never `Infinity * 0`).
 */
export function keyFeatures(k: number, order: number): Float64Array {
  const f = new Float64Array(order + 2);
  f[0] = Math.exp(-k * k);
  for (let n = 1; n <= order + 1; n++) f[n] = f[n - 1] * k;
  return f;
}

/** `f_n'(k)` for `n = 0..order`, from the `order + 2` values returned by `keyFeatures`. */
export function keyFeatureDerivatives(features: Float64Array, order: number): Float64Array {
  const d = new Float64Array(order + 1);
  for (let n = 0; n <= order; n++) {
    d[n] = (n > 0 ? n * features[n - 1] : 0) - 2 * features[n + 1];
  }
  return d;
}

/**
 * `a_n q^n = (2q)^n / n!` for `n = 0..order`: the query half of the series weight.
 * Built as a running product so neither `q^n` nor `n!` is formed on its own.
 */
export function queryTerms(q: number, order: number): Float64Array {
  const c = new Float64Array(order + 1);
  c[0] = 1;
  for (let n = 1; n <= order; n++) c[n] = (c[n - 1] * 2 * q) / n;
  return c;
}

/**
 * `a_n q^n / q^t = a_n (1/q)^{t-n}` for `n = 0..order`: the query terms divided by `q^t`.
 *
 * `y = Σ c_n S_n / Σ c_n Z_n` and every gradient formula are homogeneous in `c` (α = g/M scales
 * inversely, and `∂q = Σ 2 c_{n-1} (α S_n + β Z_n)`), so a common factor leaves them unchanged.
 * For a large |q| the plain terms overflow (q·1e7 at order 6 in float32, near 1e38 at order 8 in
 * float64) while these stay at most `a_n`. Built downwards from `a_t` as a running product.
 */
export function scaledQueryTerms(q: number, order: number): Float64Array {
  const c = new Float64Array(order + 1);
  let a = 1;
  for (let n = 1; n <= order; n++) a = (a * 2) / n;
  c[order] = a;
  // a_{n-1} r^{t-n+1} = a_n r^{t-n} · r · n / 2
  for (let n = order; n >= 1; n--) c[n - 1] = (c[n] * n) / (2 * q);
  return c;
}
