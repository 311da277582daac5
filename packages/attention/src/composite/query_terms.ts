import * as tf from '@tensorflow/tfjs-core';

/**
 * The query half of the series weight, `c_n = a_n q^n`, in two forms that give the same y and
 * gradients: every formula is homogeneous in c (y = Σ c S / Σ c Z; α = g/M scales inversely; and
 * ∂q = Σ 2 c_{n-1} (α S_n + β Z_n)), so a common factor cancels.
 *
 * - plain: `c_n = c_{n-1} · 2q/n`, a running product that never forms q^n or n! alone;
 * - scaled: `c_n / q^t = a_n r^{t-n}` with r = 1/q, at most a_n when |q| > 1.
 *
 * The plain terms overflow float32 for large |q| (q·1e7 at order 6, q·100 at order 20), the
 * scaled ones underflow for moderate |q| at high orders: each query uses the reading whose M is
 * nearer 1 in magnitude, so neither M nor α = g/M overflows or turns subnormal (README, "Large
 * values").
 */
export interface ScaledTerms {
  /** log|1/q| as [B, D, Lq]. */
  readonly logR: tf.Tensor;
  /** -1 where q < 0, else 1. */
  readonly sign: tf.Tensor;
}

export function scaledTermsOf(q: tf.Tensor): ScaledTerms {
  return tf.tidy(() => ({
    logR: tf.neg(tf.log(tf.abs(q))),
    sign: tf.where(tf.less(q, 0), tf.fill(q.shape, -1), tf.onesLike(q)),
  }));
}

/** `a_n r^{t-n}` for term n of order t, with `a` the Taylor coefficients. */
export function scaledTerm(
  terms: ScaledTerms,
  a: Float64Array,
  n: number,
  order: number,
): tf.Tensor {
  return tf.tidy(() => {
    const power = order - n;
    // exp((t-n)·log|r| + log a_n): a_n r^{t-n} without forming r^{t-n} on its own.
    const magnitude = tf.exp(tf.add(tf.mul(terms.logR, power), Math.log(a[n])));
    return power % 2 === 1 ? tf.mul(magnitude, terms.sign) : magnitude;
  });
}

/**
 * Where a query reads with the scaled terms: |q| > 1 and finite, and the plain M is not finite
 * or the scaled M is nearer 1 in magnitude. A non-finite q keeps the plain reading and
 * propagates; |q| <= 1 never needs scaling (and 1/q could overflow).
 */
export function useScaled(M: tf.Tensor, scaledM: tf.Tensor, q: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const distance = (x: tf.Tensor) => tf.abs(tf.log(tf.abs(x)));
    const better = tf.logicalOr(
      tf.logicalNot(tf.isFinite(M)),
      tf.less(distance(scaledM), distance(M)),
    );
    const large = tf.logicalAnd(tf.isFinite(q), tf.greater(tf.abs(q), 1));
    return tf.logicalAnd(better, large);
  });
}

/**
 * The factor of `(α S_n + β Z_n)` in ∂q for term n: `n a_n q^{n-1} = 2 c_{n-1}` for the plain
 * terms; for the scaled ones `-r (t-n) c_n`, from ∂q = -r² ∂y/∂r. The scaled form has no n = t
 * term, so its leading terms do not cancel against y M' (which costs |q| ulps in float32).
 */
export function slopeFactor(
  scaled: tf.Tensor,
  plainBelow: tf.Tensor,
  c: tf.Tensor,
  q: tf.Tensor,
  n: number,
  order: number,
): tf.Tensor {
  return tf.tidy(() => tf.where(scaled, tf.mul(tf.div(c, q), n - order), tf.mul(plainBelow, 2)));
}
