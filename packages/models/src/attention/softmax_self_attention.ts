import * as tf from '@tensorflow/tfjs-core';
import { Linear } from '../layers/linear.js';
import type { ParameterStore } from '../parameters.js';
import { scaledDotProductAttention } from './scaled_dot_product.js';
import type { AttentionCache, SelfAttention } from './self_attention.js';

/**
 * Standard multi-head softmax self-attention (the paper's SA baseline): q/k/v/output
 * projections, `numHeads` heads of width dModel / numHeads, causal or not.
 * Generation keeps the keys and values of every earlier token per layer (KV cache), so a step
 * costs O(position · dModel).
 */
export class SoftmaxSelfAttention implements SelfAttention {
  readonly recurrent: boolean;
  private readonly query: Linear;
  private readonly key: Linear;
  private readonly value: Linear;
  private readonly output: Linear;
  private readonly headSize: number;

  constructor(
    store: ParameterStore,
    name: string,
    private readonly dModel: number,
    private readonly numHeads: number,
    private readonly causal: boolean,
  ) {
    this.query = new Linear(store, `${name}/query`, dModel, dModel);
    this.key = new Linear(store, `${name}/key`, dModel, dModel);
    this.value = new Linear(store, `${name}/value`, dModel, dModel);
    this.output = new Linear(store, `${name}/output`, dModel, dModel);
    this.headSize = dModel / numHeads;
    this.recurrent = causal;
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.attendAll(x).y);
  }

  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, keys, values] = tf.tidy(() => {
      const result = this.attendAll(x);
      return [result.y, result.keys, result.values];
    });
    return { y: y as tf.Tensor3D, cache: [keys, values] };
  }

  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, keys, values] = tf.tidy(() => {
      const x = tf.expandDims(xt, 1) as tf.Tensor3D;
      const q = this.splitHeads(this.query.apply(x) as tf.Tensor3D);
      const keys = tf.concat([cache[0], this.splitHeads(this.key.apply(x) as tf.Tensor3D)], 1);
      const values = tf.concat([cache[1], this.splitHeads(this.value.apply(x) as tf.Tensor3D)], 1);
      // The new token sees every cached key, so no mask is needed.
      const attended = scaledDotProductAttention(
        q,
        keys as tf.Tensor3D,
        values as tf.Tensor3D,
        false,
      );
      const y = this.output.apply(tf.reshape(this.mergeHeads(attended), [-1, this.dModel]));
      return [y, keys, values];
    });
    return { y: y as tf.Tensor2D, cache: [keys, values] };
  }

  /** Heads as batch: [B, L, dModel] → [B · H, L, dModel / H]. */
  private splitHeads(x: tf.Tensor3D): tf.Tensor3D {
    const [batch, length] = x.shape;
    if (this.numHeads === 1) return x;
    const heads = tf.reshape(x, [batch, length, this.numHeads, this.headSize]);
    return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [
      batch * this.numHeads,
      length,
      this.headSize,
    ]);
  }

  private mergeHeads(x: tf.Tensor3D): tf.Tensor3D {
    if (this.numHeads === 1) return x;
    const [batchHeads, length] = x.shape;
    const batch = batchHeads / this.numHeads;
    const heads = tf.reshape(x, [batch, this.numHeads, length, this.headSize]);
    return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [batch, length, this.dModel]);
  }

  private attendAll(x: tf.Tensor3D): { y: tf.Tensor3D; keys: tf.Tensor3D; values: tf.Tensor3D } {
    const q = this.splitHeads(this.query.apply(x) as tf.Tensor3D);
    const keys = this.splitHeads(this.key.apply(x) as tf.Tensor3D);
    const values = this.splitHeads(this.value.apply(x) as tf.Tensor3D);
    const attended = scaledDotProductAttention(q, keys, values, this.causal);
    return { y: this.output.apply(this.mergeHeads(attended)) as tf.Tensor3D, keys, values };
  }

  private assertRecurrent(): void {
    if (!this.recurrent) throw new Error('non-causal softmax attention cannot generate');
  }
}
