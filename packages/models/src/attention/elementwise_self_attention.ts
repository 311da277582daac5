import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedAttentionConfig } from '../config/types.js';
import { RMSNorm } from '../layers/normalization.js';
import type { ParameterStore } from '../parameters.js';
import { AttentionProjections, type ProjectionOptions, type QKV } from './projections.js';
import type { AttentionCache, SelfAttention } from './self_attention.js';

type ElementwiseAttentionConfig = Extract<ResolvedAttentionConfig, { kind: 'ea' }>;

/**
 * Element-wise attention (Feng 2025) between learned projections: y = EA(q, k, v) Wo + bo with
 * q = x Wq + bq (optionally through a short convolution, and RMS-normalised with a learned gain,
 * `qkNorm: 'rms'`, and bounded by b·tanh(x / b) with `qkBound: b`), and likewise k, v. EA works per
 * channel (or per group of `groupSize` channels), so there are no heads. Runs the
 * `elementwiseAttention` op of `@elementwise/attention` (its fused kernel where a backend adapter
 * registered one), and as an RNN through `elementwiseAttentionStep` with O(order · dModel) state
 * (plus the short convolutions' fixed windows). Cache: [s, z, ...convolution windows].
 */
export class ElementwiseSelfAttention implements SelfAttention {
  readonly recurrent: boolean;
  private readonly projections: AttentionProjections;
  private readonly queryNorm: RMSNorm | null;
  private readonly keyNorm: RMSNorm | null;

  private readonly order: number | 'exact';
  private readonly qkBound: number;
  private readonly groupSize: number;

  constructor(
    store: ParameterStore,
    name: string,
    dModel: number,
    attention: ElementwiseAttentionConfig,
    private readonly causal: boolean,
    options: ProjectionOptions,
  ) {
    this.order = attention.order;
    this.qkBound = attention.qkBound;
    this.groupSize = attention.groupSize;
    this.projections = new AttentionProjections(store, name, dModel, options);
    const norm = attention.qkNorm === 'rms';
    this.queryNorm = norm ? new RMSNorm(store, `${name}/query_norm`, dModel) : null;
    this.keyNorm = norm ? new RMSNorm(store, `${name}/key_norm`, dModel) : null;
    this.recurrent = causal && this.order !== 'exact';
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [q, k, v] = this.normalized(this.projections.qkv(x));
      const y = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: this.causal,
        groupSize: this.groupSize,
      });
      return this.projections.project(y, x) as tf.Tensor3D;
    });
  }

  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, ...cache] = tf.tidy(() => {
      const { qkv, windows } = this.projections.prefillQKV(x);
      const [q, k, v] = this.normalized(qkv);
      const result = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: true,
        returnFinalState: true,
        groupSize: this.groupSize,
      });
      const y = this.projections.project(result.y, x);
      return [y, result.finalState.s, result.finalState.z, ...windows];
    });
    return { y: y as tf.Tensor3D, cache };
  }

  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache } {
    this.assertRecurrent();
    const [y, ...next] = tf.tidy(() => {
      const [s, z, ...windows] = cache;
      const projected = this.projections.stepQKV(xt, windows);
      const [q, k, v] = this.normalized(projected.qkv);
      const result = elementwiseAttentionStep(
        q,
        k,
        v,
        { s, z },
        { order: this.order as number, groupSize: this.groupSize },
      );
      const y = this.projections.project(result.y, xt);
      return [y, result.state.s, result.state.z, ...projected.windows];
    });
    return { y: y as tf.Tensor2D, cache: next };
  }

  /** q and k as EA compares them: RMS-normalised and bounded where the config asks. */
  private normalized([q, k, v]: QKV): QKV {
    let [query, key] = [q, k];
    if (this.queryNorm && this.keyNorm)
      [query, key] = [this.queryNorm.apply(q), this.keyNorm.apply(k)];
    if (this.qkBound > 0) [query, key] = [this.bounded(query), this.bounded(key)];
    return [query, key, v];
  }

  /** b·tanh(x / b): the identity near 0, never past ±b. */
  private bounded(x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.tanh(tf.div(x, this.qkBound)), this.qkBound);
  }

  private assertRecurrent(): void {
    if (!this.recurrent) {
      throw new Error(
        `element-wise attention with order ${String(this.order)}${this.causal ? '' : ' (non-causal)'} has no recurrent form`,
      );
    }
  }
}
