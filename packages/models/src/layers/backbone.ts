import * as tf from '@tensorflow/tfjs-core';
import type { AttentionCache } from '../attention/self_attention.js';
import type { ResolvedBackboneConfig } from '../config/types.js';
import type { ParameterStore } from '../parameters.js';
import { type ForwardContext, INFERENCE } from './context.js';
import { dropout } from './dropout.js';
import { LayerNorm } from './normalization.js';
import {
  LearnedPositions,
  type PositionalEmbedding,
  SinusoidalPositions,
  TimeEmbedding,
} from './positional.js';
import { TransformerBlock } from './transformer_block.js';

/**
 * Positional embedding, embedding dropout, `numLayers` Transformer blocks and, for Pre-LN, a
 * final LayerNorm. The task adds its own input embedding and output head.
 */
export class Backbone {
  private readonly positional: PositionalEmbedding;
  private readonly blocks: TransformerBlock[];
  private readonly finalNorm: LayerNorm | null;

  constructor(
    store: ParameterStore,
    private readonly config: ResolvedBackboneConfig,
    readonly causal: boolean,
  ) {
    const { dModel, maxLength } = config;
    this.positional =
      config.positional === 'learned'
        ? new LearnedPositions(store, dModel, maxLength)
        : config.positional === 'time'
          ? new TimeEmbedding(store, dModel, maxLength)
          : new SinusoidalPositions(dModel);
    this.blocks = Array.from(
      { length: config.numLayers },
      (_, i) => new TransformerBlock(store, `block_${i}`, config, causal),
    );
    this.finalNorm = config.norm === 'pre' ? new LayerNorm(store, 'final_norm', dModel) : null;
  }

  /** Whether every block has a recurrent step (causal, and not exact EA). */
  get recurrent(): boolean {
    return this.blocks.every((block) => block.recurrent);
  }

  /** embedded [B, L, d] at positions 0 .. L-1 (or at `times` [B, L]) → [B, L, d]. */
  apply(embedded: tf.Tensor3D, context: ForwardContext, times?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.embed(embedded, 0, context, times);
      for (const block of this.blocks) x = block.apply(x, context);
      return this.finalNorm ? (this.finalNorm.apply(x) as tf.Tensor3D) : x;
    });
  }

  /** Causal pass over a prompt at positions 0 .. L-1, returning each block's cache. */
  prefill(embedded: tf.Tensor3D): { y: tf.Tensor3D; caches: AttentionCache[] } {
    const caches: AttentionCache[] = [];
    const y = tf.tidy(() => {
      let x = this.embed(embedded, 0, INFERENCE);
      for (const block of this.blocks) {
        const result = block.prefill(x);
        caches.push(result.cache);
        x = result.y;
      }
      return this.finalNorm ? this.finalNorm.apply(x) : x;
    });
    return { y: y as tf.Tensor3D, caches };
  }

  /** One token [B, d] at `position`; the given caches are left untouched. */
  step(
    embedded: tf.Tensor2D,
    position: number,
    caches: AttentionCache[],
  ): { y: tf.Tensor2D; caches: AttentionCache[] } {
    const next: AttentionCache[] = [];
    const y = tf.tidy(() => {
      const x3 = this.embed(tf.expandDims(embedded, 1) as tf.Tensor3D, position, INFERENCE);
      let x = tf.squeeze(x3, [1]) as tf.Tensor2D;
      this.blocks.forEach((block, i) => {
        const result = block.step(x, caches[i]);
        next.push(result.cache);
        x = result.y;
      });
      return this.finalNorm ? this.finalNorm.apply(x) : x;
    });
    return { y: y as tf.Tensor2D, caches: next };
  }

  private embed(
    embedded: tf.Tensor3D,
    start: number,
    context: ForwardContext,
    times?: tf.Tensor2D,
  ): tf.Tensor3D {
    const positions = this.positional.apply(start, embedded.shape[1], times);
    return dropout(tf.add(embedded, positions), this.config.dropout, context) as tf.Tensor3D;
  }
}
