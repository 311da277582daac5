/**
 * Taylor polynomials of `exp`, the approximation at the heart of EA-series.
 *
 * EA-series of order `t` replaces `e^{2qk}` by `T_t(2qk)`, where `T_t(x) = Σ_{n<=t} x^n / n!`.
 * Splitting `(2qk)^n / n! = a_n q^n k^n` with `a_n = 2^n / n!` separates queries from keys.
 */

function assertDegree(order: unknown, name = 'order'): asserts order is number {
  if (typeof order !== 'number' || !Number.isInteger(order) || order < 0) {
    throw new RangeError(`${name} must be an integer >= 0, got ${String(order)}`);
  }
}

/**
 * The EA-series coefficients `a_n = 2^n / n!` for `n = 0..order` (`order + 1` values).
 * Any integer degree >= 0 is accepted so odd degrees can be studied too.
 */
export function taylorCoefficients(order: number): Float64Array {
  assertDegree(order);
  const a = new Float64Array(order + 1);
  a[0] = 1;
  // a_n = a_{n-1} * 2 / n never forms 2^n or n! on its own, so it cannot overflow early.
  for (let n = 1; n <= order; n++) a[n] = (a[n - 1] * 2) / n;
  return a;
}

/** `T_t(x) = Σ_{n=0..t} x^n / n!`, the degree-`t` Taylor polynomial of `e^x` around 0. */
export function taylorPolynomial(x: number, order: number): number {
  assertDegree(order);
  // Horner form 1 + x(1 + x/2(1 + x/3(...))) avoids forming x^n and n! separately.
  let sum = 1;
  for (let n = order; n >= 1; n--) sum = 1 + (x / n) * sum;
  return sum;
}

/**
 * Whether `T_order(x) > 0` for every real `x`, i.e. whether series weights can never turn
 * negative. This holds exactly for even degrees: at a critical point of `T_t` we have
 * `T_{t-1}(x) = 0`, so `T_t(x) = x^t / t!`, which is positive for even `t` (the only critical
 * point at x = 0 gives 1); an odd-degree polynomial always has a real root.
 */
export function isPositiveTaylorOrder(order: number): boolean {
  return Number.isInteger(order) && order >= 0 && order % 2 === 0;
}

export interface TaylorError {
  /** Largest `|T_t(x) - e^x| / e^x` over the samples. */
  readonly max: number;
  /** Root mean square of the same relative error over the samples. */
  readonly rms: number;
}

/**
 * Relative error of `T_order` against `e^x` on `samples` evenly spaced points of `[lo, hi]`
 * (both ends included). For EA-series the argument is `x = 2 q k`, so this tells how far the
 * series weights are from the exact ones for a given range of `|2qk|`.
 */
export function taylorRelativeError(
  order: number,
  lo: number,
  hi: number,
  samples = 1001,
): TaylorError {
  assertDegree(order);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new RangeError(`lo and hi must be finite with lo <= hi, got lo=${lo}, hi=${hi}`);
  }
  if (!Number.isInteger(samples) || samples < 2) {
    throw new RangeError(`samples must be an integer >= 2, got ${String(samples)}`);
  }
  let max = 0;
  let sumSquares = 0;
  for (let s = 0; s < samples; s++) {
    const x = lo + ((hi - lo) * s) / (samples - 1);
    const exact = Math.exp(x);
    const relative = Math.abs(taylorPolynomial(x, order) - exact) / exact;
    max = Math.max(max, relative);
    sumSquares += relative * relative;
  }
  return { max, rms: Math.sqrt(sumSquares / samples) };
}
