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
import { ElementwiseLayer, inputShapeOf } from './layer.js';

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
    this.embeddings = this.addTrainableWeight(
      'embeddings',
      [this.vocabularySize, this.outputDim],
      this.embeddingsInitializer,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = inputShapeOf(inputShape);
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
      const table = (this.embeddings as tfl.LayerVariable).read() as tf.Tensor2D;
      return tf.reshape(lookUp(flat, table), [...ids.shape, this.outputDim]);
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
 * Rows `ids` [N] of `table` [V, D] as oneHot(ids) · table, with the gradient of the table only,
 * oneHot(ids)ᵀ · dy: the one-hot matrix is rebuilt from the ids in the backward pass rather than
 * kept, and no gradient is computed for it. tf.gather's gradient would need UnsortedSegmentSum,
 * which tfjs's wasm backend lacks.
 */
function lookUp(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  const vocabulary = table.shape[0];
  const oneHot = (indices: tf.Tensor1D) =>
    tf.cast(tf.oneHot(indices, vocabulary), 'float32') as tf.Tensor2D;
  const run = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const weights = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const value = tf.tidy(() => tf.matMul(oneHot(ids), weights));
    save([ids]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const rows = tf.tidy(() => tf.transpose(oneHot(saved[0] as tf.Tensor1D)));
        const dTable = tf.matMul(rows, dy as tf.Tensor2D);
        rows.dispose();
        return [dTable];
      },
    };
  });
  return run(table) as tf.Tensor2D;
}

/**
 * Token embeddings trainable on every backend (tfjs-style factory):
 * `tokenEmbeddingLayer({vocabularySize: 64, outputDim: 32})`. See {@link TokenEmbedding}.
 */
export function tokenEmbeddingLayer(args: TokenEmbeddingLayerArgs): TokenEmbedding {
  return new TokenEmbedding(args);
}
