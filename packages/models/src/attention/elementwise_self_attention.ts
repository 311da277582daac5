import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { Linear } from '../layers/linear.js';
import { RMSNorm } from '../layers/normalization.js';
import type { ParameterStore } from '../parameters.js';
import type { AttentionCache, SelfAttention } from './self_attention.js';

/**
 * Element-wise attention (Feng 2025) between learned projections: y = EA(q, k, v) Wo + bo with
 * q = x Wq + bq (optionally RMS-normalised with a learned gain, `qkNorm: 'rms'`), and likewise
 * k, v. EA works per channel, so there are no heads. Runs the `elementwiseAttention` op of
 * `@elementwise/attention` (its fused kernel where a backend adapter registered one), and as an
 * RNN through `elementwiseAttentionStep` with O(order · dModel) state.
 */
export class ElementwiseSelfAttention implements SelfAttention {
  readonly recurrent: boolean;
  private readonly query: Linear;
  private readonly key: Linear;
  private readonly value: Linear;
  private readonly output: Linear;
  private readonly queryNorm: RMSNorm | null;
  private readonly keyNorm: RMSNorm | null;

  constructor(
    store: ParameterStore,
    name: string,
    dModel: number,
    private readonly order: number | 'exact',
    qkNorm: 'none' | 'rms',
    private readonly causal: boolean,
  ) {
    this.query = new Linear(store, `${name}/query`, dModel, dModel);
    this.key = new Linear(store, `${name}/key`, dModel, dModel);
    this.value = new Linear(store, `${name}/value`, dModel, dModel);
    this.output = new Linear(store, `${name}/output`, dModel, dModel);
    this.queryNorm = qkNorm === 'rms' ? new RMSNorm(store, `${name}/query_norm`, dModel) : null;
    this.keyNorm = qkNorm === 'rms' ? new RMSNorm(store, `${name}/key_norm`, dModel) : null;
    this.recurrent = causal && order !== 'exact';
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [q, k, v] = this.project(x);
      const y = elementwiseAttention(q, k, v, { order: this.order, causal: this.causal });
      return this.output.apply(y) as tf.Tensor3D;
    });
  }

  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, s, z] = tf.tidy(() => {
      const [q, k, v] = this.project(x);
      const result = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: true,
        returnFinalState: true,
      });
      return [this.output.apply(result.y), result.finalState.s, result.finalState.z];
    });
    return { y: y as tf.Tensor3D, cache: [s, z] };
  }

  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, s, z] = tf.tidy(() => {
      const [q, k, v] = this.project(xt);
      const result = elementwiseAttentionStep(
        q,
        k,
        v,
        { s: cache[0], z: cache[1] },
        { order: this.order as number },
      );
      return [this.output.apply(result.y), result.state.s, result.state.z];
    });
    return { y: y as tf.Tensor2D, cache: [s, z] };
  }

  private project(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    let q = this.query.apply(x);
    let k = this.key.apply(x);
    if (this.queryNorm && this.keyNorm) {
      q = this.queryNorm.apply(q);
      k = this.keyNorm.apply(k);
    }
    return [q, k, this.value.apply(x)];
  }

  private assertRecurrent(): void {
    if (!this.recurrent) {
      throw new Error(
        `element-wise attention with order ${String(this.order)}${this.causal ? '' : ' (non-causal)'} has no recurrent form`,
      );
    }
  }
}
