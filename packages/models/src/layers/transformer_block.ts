import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseSelfAttention } from '../attention/elementwise_self_attention.js';
import type { AttentionCache, SelfAttention } from '../attention/self_attention.js';
import { SoftmaxSelfAttention } from '../attention/softmax_self_attention.js';
import type { ResolvedBackboneConfig } from '../config/types.js';
import type { ParameterStore } from '../parameters.js';
import { type ForwardContext, INFERENCE } from './context.js';
import { dropout } from './dropout.js';
import { FeedForward } from './feed_forward.js';
import { LayerNorm } from './normalization.js';

/**
 * One Transformer block. Post-LN (the paper's setup, Vaswani et al.):
 *   h = LN₁(x + Dropout(Attention(x))),  y = LN₂(h + Dropout(FFN(h)));
 * Pre-LN:
 *   h = x + Dropout(Attention(LN₁(x))),  y = h + Dropout(FFN(LN₂(h))).
 * With `ffMultiplier: 0` the block is attention only: y = h.
 * Works on [B, L, d] in parallel, and on one token [B, d] with the attention's cache.
 */
export class TransformerBlock {
  private readonly attention: SelfAttention;
  private readonly attentionNorm: LayerNorm;
  /** Null in an attention-only block. */
  private readonly feedForward: { layer: FeedForward; norm: LayerNorm } | null;

  constructor(
    store: ParameterStore,
    name: string,
    private readonly config: ResolvedBackboneConfig,
    causal: boolean,
  ) {
    const { dModel, attention } = config;
    const options = { shortConv: config.shortConv, outputGate: config.outputGate };
    this.attention =
      attention.kind === 'ea'
        ? new ElementwiseSelfAttention(
            store,
            `${name}/attention`,
            dModel,
            attention,
            causal,
            options,
          )
        : new SoftmaxSelfAttention(
            store,
            `${name}/attention`,
            dModel,
            config.numHeads,
            causal,
            options,
          );
    this.attentionNorm = new LayerNorm(store, `${name}/attention_norm`, dModel);
    const hidden = Math.round(dModel * config.ffMultiplier);
    this.feedForward =
      hidden === 0
        ? null
        : {
            layer: new FeedForward(
              store,
              `${name}/feed_forward`,
              dModel,
              hidden,
              config.activation,
              config.dropout,
            ),
            norm: new LayerNorm(store, `${name}/feed_forward_norm`, dModel),
          };
  }

  get recurrent(): boolean {
    return this.attention.recurrent;
  }

  apply(x: tf.Tensor3D, context: ForwardContext): tf.Tensor3D {
    return tf.tidy(() =>
      this.around(x, context, (input) => this.attention.apply(input as tf.Tensor3D, context)),
    ) as tf.Tensor3D;
  }

  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    let cache: AttentionCache = [];
    const y = tf.tidy(() =>
      this.around(x, INFERENCE, (input) => {
        const result = this.attention.prefill(input as tf.Tensor3D);
        cache = result.cache.map((t) => tf.keep(t));
        return result.y;
      }),
    );
    return { y: y as tf.Tensor3D, cache };
  }

  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache } {
    let next: AttentionCache = [];
    const y = tf.tidy(() =>
      this.around(xt, INFERENCE, (input) => {
        const result = this.attention.step(input as tf.Tensor2D, cache);
        next = result.cache.map((t) => tf.keep(t));
        return result.y;
      }),
    );
    return { y: y as tf.Tensor2D, cache: next };
  }

  /** The residual wiring around an attention function, shared by every form. */
  private around(
    x: tf.Tensor,
    context: ForwardContext,
    attend: (input: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    const rate = this.config.dropout;
    const feedForward = this.feedForward;
    if (this.config.norm === 'post') {
      const h = this.attentionNorm.apply(tf.add(x, dropout(attend(x), rate, context)));
      if (feedForward === null) return h;
      const f = feedForward.layer.apply(h, context);
      return feedForward.norm.apply(tf.add(h, dropout(f, rate, context)));
    }
    const h = tf.add(x, dropout(attend(this.attentionNorm.apply(x)), rate, context));
    if (feedForward === null) return h;
    const f = feedForward.layer.apply(feedForward.norm.apply(h), context);
    return tf.add(h, dropout(f, rate, context));
  }
}
