import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-channel power-of-two scaling of the key features, so that far keys stay in float32 range.
 *
 * Every feature `f_n(k_j) = k_j^n e^{-k_j²}` of a channel, and its initial state, is multiplied
 * by the same `2^E`: the ratio y = N / M does not change, and neither do ∂q, ∂k, ∂v (the α = g/M
 * of the backward shrinks by exactly what the features grow). Without it, keys at |k| ≈ 9.4–13
 * leave M subnormal in float32: y is still finite, but α = g/M overflows and `0 · ∞` turns the
 * gradients NaN. E is the exponent of the largest visible `e^{-k²}`, so the nearest key's feature
 * is about 1 and keys up to about 87 (in k²) further out remain representable.
 */

/**
 * E never exceeds 1022 - 126: a denominator below the float64 zero threshold of the oracle
 * (2^-1022) then stays below the float32 one (2^-126) after scaling, so both rules agree.
 */
const MAX_EXPONENT = 1022 - 126;
/** A nonzero state is scaled by at most 2^126, and so that its largest entry stays below 2^125. */
const MAX_STATE_EXPONENT = 126;
const STATE_CEILING = 125;

/** E as a float tensor [B, D, 1] of integers >= 0. k: [B, D, L]; visible: bool [B, 1, L]. */
export function featureExponent(
  k: tf.Tensor3D,
  visible: tf.Tensor,
  s0: tf.Tensor3D,
  z0: tf.Tensor3D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const squares = tf.where(
      tf.broadcastTo(visible, k.shape),
      tf.square(k),
      tf.fill(k.shape, Number.POSITIVE_INFINITY),
    );
    // floor(min k² · log2 e): e^{-k²} · 2^E <= 1 for every visible key.
    const nearest = tf.floor(tf.mul(tf.min(squares, 2, true), Math.LOG2E));
    // No visible key, or only non-finite ones: nothing to scale (non-finite keys yield NaN).
    const fromKeys = tf.where(
      tf.isFinite(nearest),
      tf.minimum(nearest, MAX_EXPONENT),
      tf.zerosLike(nearest),
    );
    const largest = tf.maximum(tf.max(tf.abs(s0), 2, true), tf.max(tf.abs(z0), 2, true));
    const headroom = tf.sub(STATE_CEILING, tf.ceil(tf.div(tf.log(largest), Math.LN2)));
    const stateBound = tf.where(
      tf.greater(largest, 0),
      tf.minimum(headroom, MAX_STATE_EXPONENT),
      tf.fill(largest.shape, MAX_EXPONENT),
    );
    // A non-finite state gives a NaN headroom: leave it unscaled, it propagates anyway.
    const bound = tf.where(tf.isNaN(stateBound), tf.zerosLike(stateBound), stateBound);
    return tf.maximum(tf.minimum(fromKeys, bound), 0) as tf.Tensor3D;
  });
}

/** x · 2^E where x may be nonzero only if E <= MAX_STATE_EXPONENT (the initial state). */
export function scaleStateUp(x: tf.Tensor, exponent: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(x, tf.exp(tf.mul(tf.minimum(exponent, MAX_STATE_EXPONENT), Math.LN2))),
  );
}

/** x · 2^-E in two halves, so a large x with a large E is not lost to an early underflow. */
export function scaleDown(x: tf.Tensor, exponent: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const half = tf.floor(tf.mul(exponent, 0.5));
    const first = tf.exp(tf.mul(half, -Math.LN2));
    const second = tf.exp(tf.mul(tf.sub(exponent, half), -Math.LN2));
    return tf.mul(tf.mul(x, first), second);
  });
}

/**
 * x · 2^E for adjoints of the initial state, which may truly overflow (∂y/∂s0 = 1/M for a far
 * key): 0 stays 0 instead of `0 · ∞ = NaN`, anything else overflows to ±∞ as float32 must.
 */
export function scaleAdjointUp(x: tf.Tensor, exponent: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const half = tf.floor(tf.mul(exponent, 0.5));
    const first = tf.exp(tf.mul(half, Math.LN2));
    const second = tf.exp(tf.mul(tf.sub(exponent, half), Math.LN2));
    const scaled = tf.mul(tf.mul(x, first), second);
    return tf.where(tf.equal(x, 0), tf.zerosLike(x), scaled);
  });
}
