/**
 * `@elementwise/layers`: element-wise attention (EA) and its softmax multi-head twin as
 * tfjs-layers layers, with the token and positional embeddings a sequence model needs, registered for serialization when this module is imported, so that
 * `tf.loadLayersModel` rebuilds models that use them.
 */
export type {
  Initializer,
  InitializerIdentifier,
  LayerArgs,
} from './config.js';
export { type DropoutAt, dropoutOf } from './dropout.js';
export {
  type AttentionState,
  ElementwiseAttentionLayer,
  type ElementwiseAttentionLayerArgs,
  type ElementwiseAttentionLayerState,
  type ElementwiseAttentionPrefillOptions,
  elementwiseAttentionLayer,
} from './elementwise_attention_layer.js';
export { Linear, type LinearLayerArgs, linearLayer } from './linear_layer.js';
export {
  type KeyValueCache,
  MultiHeadAttentionLayer,
  type MultiHeadAttentionLayerArgs,
  type MultiHeadAttentionLayerState,
  type MultiHeadAttentionPrefillOptions,
  multiHeadAttentionLayer,
} from './multi_head_attention_layer.js';
export {
  PositionalEmbedding,
  type PositionalEmbeddingLayerArgs,
  positionalEmbeddingLayer,
  sinusoidalFrequency,
  sinusoidalTable,
} from './positional_embedding_layer.js';
export { matMulUnflagged } from './projection.js';
export type { ConvolutionWindows, SelfAttentionLayerArgs } from './self_attention_layer.js';
export {
  TokenEmbedding,
  type TokenEmbeddingLayerArgs,
  tokenEmbeddingLayer,
} from './token_embedding_layer.js';
export {
  type BlockAttention,
  TransformerBlock,
  type TransformerBlockLayerArgs,
  type TransformerBlockState,
  transformerBlockLayer,
} from './transformer_block_layer.js';
