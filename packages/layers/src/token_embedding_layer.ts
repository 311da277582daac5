import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  checkConfig,
  type Initializer,
  type InitializerIdentifier,
  initializerField,
  type Kwargs,
  type LayerArgs,
  positiveIntegerField,
  serializeInitializer,
  singleInput,
} from './config.js';
import { fail, formatShape } from './errors.js';
import { ElementwiseLayer } from './layer.js';
import { matMulUnflagged } from './projection.js';

export interface TokenEmbeddingLayerArgs extends LayerArgs {
  /** Number of token ids V: inputs are ids in [0, V). Required. */
  vocabularySize: number;
  /** Width of each token's vector. Required. */
  outputDim: number;
  /** Initializer of the [V, outputDim] table. Default `randomNormal` (mean 0, sd 0.05). */
  embeddingsInitializer?: InitializerIdentifier;
}

const FACTORY = 'tokenEmbeddingLayer';
const CONFIG_KEYS = ['vocabularySize', 'outputDim', 'embeddingsInitializer'] as const;

/**
 * Token embeddings, ids [B, L] → [B, L, outputDim], like `tf.layers.embedding` but trainable on
 * every backend: the lookup is one-hot(ids) · table, whose gradient is a matrix product, where
 * `tf.layers.embedding`'s gather needs an UnsortedSegmentSum kernel that tfjs-backend-wasm lacks.
 * For the vocabularies of character and small-token models the product costs little. An id
 * outside [0, V) embeds as zeros, as in `tf.oneHot`.
 */
export class TokenEmbedding extends ElementwiseLayer {
  static className = 'TokenEmbedding';

  readonly vocabularySize: number;
  readonly outputDim: number;
  private readonly embeddingsInitializer: Initializer;
  private embeddings: tfl.LayerVariable | null = null;

  constructor(args: TokenEmbeddingLayerArgs) {
    if (args === undefined) {
      fail(FACTORY, 'config is required, e.g. {vocabularySize: 64, outputDim: 32}');
    }
    const config = checkConfig<TokenEmbeddingLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(config);
    this.vocabularySize = positiveIntegerField(FACTORY, 'vocabularySize', config.vocabularySize);
    this.outputDim = positiveIntegerField(FACTORY, 'outputDim', config.outputDim);
    this.embeddingsInitializer = initializerField(
      FACTORY,
      'embeddingsInitializer',
      config.embeddingsInitializer,
      'randomNormal',
    );
  }

  override build(): void {
    this.embeddings = this.addWeight(
      'embeddings',
      [this.vocabularySize, this.outputDim],
      'float32',
      this.embeddingsInitializer,
      undefined,
      true,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...shape, this.outputDim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `TokenEmbedding '${this.name}'`;
      const ids = singleInput(where, inputs);
      if (ids.dtype === 'string' || ids.dtype === 'complex64' || ids.dtype === 'bool') {
        fail(where, `ids must be a numeric tensor of token ids, got dtype ${ids.dtype}`);
      }
      if (ids.size === 0)
        fail(where, `ids must hold at least one id, got ${formatShape(ids.shape)}`);
      const flat = tf.reshape(tf.cast(ids, 'int32'), [-1]) as tf.Tensor1D;
      const oneHot = tf.cast(tf.oneHot(flat, this.vocabularySize), 'float32') as tf.Tensor2D;
      const table = (this.embeddings as tfl.LayerVariable).read() as tf.Tensor2D;
      return tf.reshape(matMulUnflagged(oneHot, table), [...ids.shape, this.outputDim]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      vocabularySize: this.vocabularySize,
      outputDim: this.outputDim,
      embeddingsInitializer: serializeInitializer(this.embeddingsInitializer),
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(TokenEmbedding);

/**
 * Token embeddings trainable on every backend (tfjs-style factory):
 * `tokenEmbeddingLayer({vocabularySize: 64, outputDim: 32})`. See {@link TokenEmbedding}.
 */
export function tokenEmbeddingLayer(args: TokenEmbeddingLayerArgs): TokenEmbedding {
  return new TokenEmbedding(args);
}
