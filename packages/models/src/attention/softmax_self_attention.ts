import { softmaxAttention } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';
import { AttentionProjections, type ProjectionOptions } from './projections.js';
import type { AttentionCache, SelfAttention } from './self_attention.js';

/**
 * Standard multi-head softmax self-attention (the paper's SA baseline): q/k/v/output
 * projections (with the same optional short convolutions and output gate as EA), `numHeads`
 * heads of width dModel / numHeads, causal or not, each head by `softmaxAttention` of
 * `@elementwise/attention` (the formulation the benchmarks time). Generation keeps the keys and values of every
 * earlier token per layer (KV cache), so a step costs O(position · dModel).
 * Cache: [keys, values, ...convolution windows].
 */
export class SoftmaxSelfAttention implements SelfAttention {
  readonly recurrent: boolean;
  private readonly projections: AttentionProjections;
  private readonly headSize: number;

  constructor(
    store: ParameterStore,
    name: string,
    private readonly dModel: number,
    private readonly numHeads: number,
    private readonly causal: boolean,
    options: ProjectionOptions,
  ) {
    this.projections = new AttentionProjections(store, name, dModel, options);
    this.headSize = dModel / numHeads;
    this.recurrent = causal;
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [q, k, v] = this.projections.qkv(x).map((t) => this.splitHeads(t as tf.Tensor3D));
      const attended = softmaxAttention(q, k, v, { causal: this.causal });
      return this.projections.project(this.mergeHeads(attended), x) as tf.Tensor3D;
    });
  }

  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, ...cache] = tf.tidy(() => {
      const { qkv, windows } = this.projections.prefillQKV(x);
      const [q, keys, values] = qkv.map((t) => this.splitHeads(t as tf.Tensor3D));
      const attended = softmaxAttention(q, keys, values, { causal: true });
      return [this.projections.project(this.mergeHeads(attended), x), keys, values, ...windows];
    });
    return { y: y as tf.Tensor3D, cache };
  }

  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, ...next] = tf.tidy(() => {
      const [cachedKeys, cachedValues, ...windows] = cache;
      const projected = this.projections.stepQKV(xt, windows);
      const [q, k, v] = projected.qkv.map((t) =>
        this.splitHeads(tf.expandDims(t, 1) as tf.Tensor3D),
      );
      const keys = tf.concat([cachedKeys, k], 1) as tf.Tensor3D;
      const values = tf.concat([cachedValues, v], 1) as tf.Tensor3D;
      // The new token sees every cached key, so no mask is needed.
      const attended = softmaxAttention(q, keys, values);
      const merged = tf.reshape(this.mergeHeads(attended), [-1, this.dModel]);
      return [this.projections.project(merged, xt), keys, values, ...projected.windows];
    });
    return { y: y as tf.Tensor2D, cache: next };
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

  private assertRecurrent(): void {
    if (!this.recurrent) throw new Error('non-causal softmax attention cannot generate');
  }
}
