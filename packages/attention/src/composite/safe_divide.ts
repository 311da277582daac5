import * as tf from '@tensorflow/tfjs-core';

/**
 * The zero-denominator rule in float32: a denominator below the smallest normal float32 counts as
 * 0, as the fused GPU kernels do (GPUs may flush subnormals anyway, so every device agrees).
 */
export const MIN_NORMAL_FLOAT32 = 2 ** -126;

/** Whether each denominator counts as zero. NaN does not: non-finite inputs propagate. */
export function isZeroDenominator(denominator: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.less(tf.abs(denominator), MIN_NORMAL_FLOAT32));
}

/**
 * `numerator / denominator`, and 0 where the denominator counts as zero. A query that sees no key
 * (all masked, or `exp(-k²)` underflowed) has N = M = 0; the contract defines its output as 0.
 */
export function safeDivide(numerator: tf.Tensor, denominator: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const zero = isZeroDenominator(denominator);
    const quotient = tf.div(numerator, tf.where(zero, tf.onesLike(denominator), denominator));
    return tf.where(zero, tf.zerosLike(quotient), quotient);
  });
}
