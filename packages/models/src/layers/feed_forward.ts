import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';
import type { ForwardContext } from './context.js';
import { dropout } from './dropout.js';
import { Linear } from './linear.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation (Hendrycks & Gimpel): tfjs's `erf` has no kernel on every backend
 * (wasm), while tanh does, and the two differ by < 1e-3.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), GELU_SCALE);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** Position-wise feed-forward: Linear(d → m·d), activation, dropout, Linear(m·d → d). */
export class FeedForward {
  private readonly expand: Linear;
  private readonly contract: Linear;

  constructor(
    store: ParameterStore,
    name: string,
    dModel: number,
    hidden: number,
    private readonly activation: 'gelu' | 'relu',
    private readonly dropoutRate: number,
  ) {
    this.expand = new Linear(store, `${name}/expand`, dModel, hidden);
    this.contract = new Linear(store, `${name}/contract`, hidden, dModel);
  }

  apply(x: tf.Tensor, context: ForwardContext): tf.Tensor {
    return tf.tidy(() => {
      const hidden = this.expand.apply(x);
      const activated = this.activation === 'gelu' ? gelu(hidden) : tf.relu(hidden);
      return this.contract.apply(dropout(activated, this.dropoutRate, context));
    });
  }
}
