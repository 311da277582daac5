import * as tf from '@tensorflow/tfjs-core';

/**
 * Global-norm clipping: scales every gradient by min(1, maxNorm / ‖g‖₂) where ‖g‖₂ is the norm
 * of all gradients together. Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm(
  gradients: tf.NamedTensorMap,
  maxNorm: number,
): { gradients: tf.NamedTensorMap; norm: tf.Scalar } {
  const names = Object.keys(gradients);
  const norm = tf.sqrt(
    tf.addN(names.map((name) => tf.sum(tf.square(gradients[name])))),
  ) as tf.Scalar;
  const scale = tf.minimum(1, tf.div(maxNorm, tf.maximum(norm, 1e-12)));
  const clipped: tf.NamedTensorMap = {};
  for (const name of names) clipped[name] = tf.mul(gradients[name], scale);
  return { gradients: clipped, norm };
}
