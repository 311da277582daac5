import * as tf from '@tensorflow/tfjs-core';

/**
 * `numerator / denominator`, and 0 where the denominator is 0. A query that sees no key (all
 * masked, or `exp(-k²)` underflowed) has N = M = 0; the contract defines its output as 0.
 */
export function safeDivide(numerator: tf.Tensor, denominator: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const nonzero = tf.notEqual(denominator, 0);
    const quotient = tf.div(numerator, tf.where(nonzero, denominator, tf.onesLike(denominator)));
    return tf.where(nonzero, quotient, tf.zerosLike(quotient));
  });
}
