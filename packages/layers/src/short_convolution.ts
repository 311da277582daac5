import * as tf from '@tensorflow/tfjs-core';

/**
 * A causal depthwise convolution over positions followed by SiLU, the short convolution that
 * GLA, Mamba and Based put on q, k and v: `y_t = silu(b + Σ_{i<size} w_i ⊙ x_{t-size+1+i})`. It
 * hands attention "the last few positions" directly. A sequence continues from a window of the
 * `size - 1` inputs before it (zeros at the start), so a step costs O(size · C) whatever the
 * position.
 */
export interface ShortConvolutionWeights {
  /** [size, C] */
  kernel: tf.Tensor;
  /** [C] */
  bias: tf.Tensor;
}

/** x · sigmoid(x) (swish). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** The window a sequence starts from: `size - 1` zero positions, [B, size - 1, C]. */
export function emptyWindow(batch: number, size: number, channels: number): tf.Tensor3D {
  return tf.zeros([batch, size - 1, channels]);
}

/**
 * x [B, L, C] after `window` [B, size - 1, C] (default: zeros): y [B, L, C] and the window of the
 * last `size - 1` inputs, to continue from.
 */
export function convolveAfter(
  x: tf.Tensor3D,
  weights: ShortConvolutionWeights,
  window?: tf.Tensor,
): { y: tf.Tensor3D; window: tf.Tensor3D } {
  const size = weights.kernel.shape[0];
  const [batch, length, channels] = x.shape;
  const before = window ?? emptyWindow(batch, size, channels);
  const padded = tf.concat([before, x], 1) as tf.Tensor3D;
  let sum: tf.Tensor = weights.bias;
  for (let i = 0; i < size; i++) {
    const tap = tf.slice(padded, [0, i, 0], [batch, length, channels]);
    sum = tf.add(sum, tf.mul(tap, tf.slice(weights.kernel, [i, 0], [1, channels])));
  }
  const next = tf.slice(padded, [0, length, 0], [batch, size - 1, channels]) as tf.Tensor3D;
  return { y: silu(sum) as tf.Tensor3D, window: next };
}

/** One position xt [B, C] after `window`: y [B, C] and the next window. */
export function convolveStep(
  xt: tf.Tensor2D,
  weights: ShortConvolutionWeights,
  window: tf.Tensor,
): { y: tf.Tensor2D; window: tf.Tensor3D } {
  const result = convolveAfter(tf.expandDims(xt, 1) as tf.Tensor3D, weights, window);
  return { y: tf.squeeze(result.y, [1]) as tf.Tensor2D, window: result.window };
}
