import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';

const EPSILON = 1e-5;

/** LayerNorm over the last axis with learned gain and bias. */
export class LayerNorm {
  private readonly gain: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(store: ParameterStore, name: string, size: number) {
    this.gain = store.create(`${name}/gain`, { shape: [size], init: 'ones', decay: false });
    this.bias = store.create(`${name}/bias`, { shape: [size], init: 'zeros', decay: false });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const axis = x.rank - 1;
      const { mean, variance } = tf.moments(x, axis, true);
      const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPSILON)));
      return tf.add(tf.mul(normalized, this.gain), this.bias);
    });
  }
}

/** RMSNorm over the last axis with a learned gain (no centring, no bias). */
export class RMSNorm {
  private readonly gain: tf.Variable;

  constructor(store: ParameterStore, name: string, size: number) {
    this.gain = store.create(`${name}/gain`, { shape: [size], init: 'ones', decay: false });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const meanSquare = tf.mean(tf.square(x), x.rank - 1, true);
      return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, EPSILON))), this.gain);
    });
  }
}
