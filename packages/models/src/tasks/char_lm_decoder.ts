import type {
  PositionalEmbedding,
  TokenEmbedding,
  TransformerBlock,
  TransformerBlockState,
} from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { CharLMConfig } from '../config/types.js';
import type { TimeEmbedding } from '../network/time_embedding.js';

/**
 * A char LM's network run beside the graph for generation: the prompt through every block's
 * causal `prefill`, then one token at a time through each block's `step` (EA's recurrent state
 * or softmax's KV cache), with the positions of the tokens' places in the window.
 */
export class CharLMDecoder {
  private readonly embedding: TokenEmbedding;
  private readonly positional: PositionalEmbedding | TimeEmbedding;
  private readonly blocks: TransformerBlock[];
  private readonly finalNorm: tfl.layers.Layer | null;
  private readonly head: tfl.layers.Layer;
  /** Whether every block has a recurrent step (not exact EA). */
  readonly recurrent: boolean;

  /** `blocks`: the network's blocks, `block_0` first (`BaseModel.blocks`). */
  constructor(network: tfl.LayersModel, config: CharLMConfig, blocks: TransformerBlock[]) {
    this.embedding = network.getLayer('token_embedding') as unknown as TokenEmbedding;
    this.positional = network.getLayer('positional') as unknown as
      | PositionalEmbedding
      | TimeEmbedding;
    this.blocks = blocks;
    this.finalNorm = config.norm === 'pre' ? network.getLayer('final_norm') : null;
    this.head = network.getLayer('head');
    this.recurrent = config.attention.kind === 'softmax' || config.attention.order !== 'exact';
  }

  /**
   * The causal pass over ids [1, L] at positions 0 .. L − 1: the logits after the last token
   * [1, vocabulary] and each block's state.
   */
  prefill(ids: tf.Tensor2D): { logits: tf.Tensor2D; states: TransformerBlockState[] } {
    const states: TransformerBlockState[] = [];
    const logits = tf.tidy(() => {
      let x = this.positional.at(this.embedding.apply(ids) as tf.Tensor, 0);
      for (const block of this.blocks) {
        const result = block.prefill(x);
        // A block keeps the state it returns: it outlives this tidy.
        states.push(result.state);
        x = result.y;
      }
      const length = ids.shape[1];
      const last = tf.reshape(tf.slice(x, [0, length - 1, 0], [1, 1, -1]), [1, -1]);
      return this.logitsOf(last);
    });
    return { logits, states };
  }

  /** One token at `position` after `states` (left untouched): its logits and the next states. */
  step(
    id: number,
    position: number,
    states: TransformerBlockState[],
  ): { logits: tf.Tensor2D; states: TransformerBlockState[] } {
    const next: TransformerBlockState[] = [];
    const logits = tf.tidy(() => {
      const embedded = this.embedding.apply(tf.tensor1d([id], 'int32')) as tf.Tensor;
      let x = this.positional.at(embedded, position);
      this.blocks.forEach((block, i) => {
        const result = block.step(x, states[i]);
        next.push(result.state);
        x = result.y;
      });
      return this.logitsOf(x);
    });
    return { logits, states: next };
  }

  /** hidden [B, D] → logits [B, vocabulary]. */
  private logitsOf(hidden: tf.Tensor): tf.Tensor2D {
    // tfjs's LayerNormalization was built for [B, L, D] and checks the rank it is applied to.
    const normalized = this.finalNorm
      ? tf.squeeze(this.finalNorm.apply(tf.expandDims(hidden, 1)) as tf.Tensor, [1])
      : hidden;
    return this.head.apply(normalized) as tf.Tensor2D;
  }
}
