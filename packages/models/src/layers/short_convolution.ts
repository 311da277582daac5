import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';

/**
 * Causal depthwise convolution over positions, followed by SiLU, as the short convolutions that
 * GLA, Mamba and Based put on q, k and v: y_t = silu(b + Σ_{i<size} w_i ⊙ x_{t-size+1+i}).
 * It hands attention "the last few tokens" directly, which a per-channel similarity cannot get
 * from absolute positions. Generation carries the last `size - 1` inputs (a window of fixed
 * size), so a step stays O(size · channels) whatever the position.
 */
export class ShortConvolution {
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(
    store: ParameterStore,
    name: string,
    private readonly channels: number,
    readonly size: number,
  ) {
    // PyTorch's default for a depthwise Conv1d: uniform in ±1/√(fan-in), fan-in = size.
    const limit = 1 / Math.sqrt(size);
    this.kernel = store.create(`${name}/kernel`, {
      shape: [size, channels],
      init: { uniform: limit },
      decay: true,
    });
    this.bias = store.create(`${name}/bias`, { shape: [channels], init: 'zeros', decay: false });
  }

  /** [B, L, C] → [B, L, C]; positions before the first see zeros. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.convolve(this.padded(x), x.shape[1]));
  }

  /** {@link apply}, plus the window of the last `size - 1` inputs to continue with {@link step}. */
  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; window: tf.Tensor3D } {
    const [y, window] = tf.tidy(() => {
      const [batch, length] = x.shape;
      const padded = this.padded(x);
      const window = tf.slice(padded, [0, length, 0], [batch, this.size - 1, this.channels]);
      return [this.convolve(padded, length), window];
    });
    return { y: y as tf.Tensor3D, window: window as tf.Tensor3D };
  }

  /** One position [B, C] after `window` [B, size - 1, C]; the window is left untouched. */
  step(xt: tf.Tensor2D, window: tf.Tensor3D): { y: tf.Tensor2D; window: tf.Tensor3D } {
    const [y, next] = tf.tidy(() => {
      const full = tf.concat([window, tf.expandDims(xt, 1)], 1) as tf.Tensor3D;
      const y = tf.squeeze(this.convolve(full, 1), [1]);
      const next = tf.slice(full, [0, 1, 0], [-1, this.size - 1, -1]);
      return [y, next];
    });
    return { y: y as tf.Tensor2D, window: next as tf.Tensor3D };
  }

  /** The input with `size - 1` zero positions in front. */
  private padded(x: tf.Tensor3D): tf.Tensor3D {
    return tf.pad(x, [
      [0, 0],
      [this.size - 1, 0],
      [0, 0],
    ]);
  }

  /** Output positions 0 .. length-1 of a padded input [B, length + size - 1, C]. */
  private convolve(padded: tf.Tensor3D, length: number): tf.Tensor3D {
    const [batch] = padded.shape;
    let sum: tf.Tensor = this.bias;
    for (let i = 0; i < this.size; i++) {
      const tap = tf.slice(padded, [0, i, 0], [batch, length, this.channels]);
      const weight = tf.slice(this.kernel, [i, 0], [1, this.channels]);
      sum = tf.add(sum, tf.mul(tap, weight));
    }
    return silu(sum) as tf.Tensor3D;
  }
}

/** x · sigmoid(x) (swish). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
