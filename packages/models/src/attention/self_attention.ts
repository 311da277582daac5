import type * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from '../layers/context.js';

/**
 * What generation carries from token to token for one layer: the EA moments (s, z) — constant
 * size — or the softmax keys and values seen so far (the KV cache).
 */
export type AttentionCache = tf.Tensor[];

/** Self-attention with its input and output projections, over [B, L, dModel]. */
export interface SelfAttention {
  /** Whether `prefill`/`step` exist (causal, and not exact EA). */
  readonly recurrent: boolean;
  apply(x: tf.Tensor3D, context: ForwardContext): tf.Tensor3D;
  /** Causal pass over a prompt that also returns the cache to continue with `step`. */
  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache };
  /** One token [B, dModel]; the given cache is left untouched (the caller disposes it). */
  step(xt: tf.Tensor2D, cache: AttentionCache): { y: tf.Tensor2D; cache: AttentionCache };
}
