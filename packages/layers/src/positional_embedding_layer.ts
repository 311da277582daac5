import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
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
import { dropoutOf, dropoutRateField } from './dropout.js';
import { describeValue, fail, formatShape } from './errors.js';
import { checkFloatTensor } from './inputs.js';
import { ElementwiseLayer, inputShapeOf } from './layer.js';

export interface PositionalEmbeddingLayerArgs extends LayerArgs {
  /**
   * `'sinusoidal'` (Vaswani et al.; no weights, default) or `'learned'` (one trained row per
   * position).
   */
  kind?: 'sinusoidal' | 'learned';
  /** Positions 0 .. maxLength − 1 exist: inputs may be shorter, never longer. Required. */
  maxLength: number;
  /** `'learned'`: initializer of the [maxLength, D] table. Default normal with sd 0.1. */
  embeddingsInitializer?: InitializerIdentifier;
  /** Dropout on the sum of the input and its positions, in training (Vaswani et al.). Default 0. */
  dropout?: number;
}

const FACTORY = 'positionalEmbeddingLayer';
const CONFIG_KEYS = ['kind', 'maxLength', 'embeddingsInitializer', 'dropout'] as const;

/** Angular frequency of channel pair ⌊c/2⌋ of D = `channels` in the sinusoidal encoding. */
export function sinusoidalFrequency(channel: number, channels: number): number {
  return 1 / 10000 ** ((2 * Math.floor(channel / 2)) / channels);
}

/** sin on even channels, cos on odd ones, for positions start .. start + length − 1: [length, D]. */
export function sinusoidalTable(start: number, length: number, channels: number): Float32Array {
  const table = new Float32Array(length * channels);
  for (let p = 0; p < length; p++) {
    for (let c = 0; c < channels; c++) {
      const angle = (start + p) * sinusoidalFrequency(c, channels);
      table[p * channels + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}

/**
 * Absolute positions added to a sequence: x [B, L, D] → x + P[0 .. L − 1], with P sinusoidal or
 * learned. Beside the graph, {@link at} adds the positions from any start, for a prompt's prefill
 * and then each generated position. A padding mask passes through.
 */
export class PositionalEmbedding extends ElementwiseLayer {
  static className = 'PositionalEmbedding';

  readonly kind: 'sinusoidal' | 'learned';
  readonly maxLength: number;
  readonly rate: number;
  private readonly embeddingsInitializer: Initializer;
  private table: tfl.LayerVariable | null = null;
  private channels: number | null = null;

  constructor(args: PositionalEmbeddingLayerArgs) {
    if (args === undefined) fail(FACTORY, 'config is required, e.g. {maxLength: 128}');
    const config = checkConfig<PositionalEmbeddingLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(config);
    const kind = config.kind ?? 'sinusoidal';
    if (kind !== 'sinusoidal' && kind !== 'learned') {
      fail(FACTORY, `config.kind must be 'sinusoidal' or 'learned', got ${describeValue(kind)}`);
    }
    this.kind = kind;
    this.maxLength = positiveIntegerField(FACTORY, 'maxLength', config.maxLength);
    this.rate = dropoutRateField(FACTORY, config.dropout);
    this.embeddingsInitializer =
      config.embeddingsInitializer === undefined
        ? tfl.initializers.randomNormal({ mean: 0, stddev: 0.1 })
        : initializerField(FACTORY, 'embeddingsInitializer', config.embeddingsInitializer, 'zeros');
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShapeOf(inputShape);
    const channels = shape[shape.length - 1];
    if (shape.length !== 3 || typeof channels !== 'number' || channels < 1) {
      fail(
        `PositionalEmbedding.build`,
        `input shape must be [B, L, D] with a known D, got ${formatShape(shape)}`,
      );
    }
    if (this.kind === 'learned') {
      this.table = this.addTrainableWeight(
        'embeddings',
        [this.maxLength, channels],
        this.embeddingsInitializer,
      );
    }
    this.channels = channels;
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `PositionalEmbedding '${this.name}'`;
      const drop = dropoutOf(this.name, where, kwargs, this.rate);
      return drop(this.addPositions(where, singleInput(where, inputs), 0), 'embedding');
    });
  }

  /**
   * x plus the positions start .. start + L − 1: x [B, L, D], or one position [B, D] at `start`.
   * A new tensor; x is left as it is.
   */
  at(x: tf.Tensor, start: number): tf.Tensor {
    const where = 'PositionalEmbedding.at';
    if (!Number.isInteger(start) || start < 0) {
      fail(where, `start must be an integer >= 0, got ${describeValue(start)}`);
    }
    const input = checkFloatTensor(where, 'x', x);
    if (this.channels === null) {
      if (input.rank !== 2 && input.rank !== 3) {
        fail(where, `x must have shape [B, L, D] or [B, D], got ${formatShape(input.shape)}`);
      }
      tf.tidy(() => {
        this.apply(tf.zeros([1, 1, input.shape[input.rank - 1] as number]));
      });
    }
    return tf.tidy(() => {
      if (input.rank === 2) {
        return tf.squeeze(this.addPositions(where, tf.expandDims(input, 1), start), [1]);
      }
      return this.addPositions(where, input, start);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      kind: this.kind,
      maxLength: this.maxLength,
      dropout: this.rate,
      ...(this.kind === 'learned'
        ? { embeddingsInitializer: serializeInitializer(this.embeddingsInitializer) }
        : {}),
      ...super.getConfig(),
    };
  }

  private addPositions(where: string, x: tf.Tensor, start: number): tf.Tensor {
    const channels = this.channels as number;
    if (x.rank !== 3 || x.shape[2] !== channels) {
      fail(where, `x must have shape [B, L, ${channels}], got ${formatShape(x.shape)}`);
    }
    const length = x.shape[1] as number;
    if (start + length > this.maxLength) {
      fail(
        where,
        `positions ${start} .. ${start + length - 1} do not exist: maxLength is ${this.maxLength}`,
      );
    }
    const positions =
      this.table === null
        ? tf.tensor2d(sinusoidalTable(start, length, channels), [length, channels])
        : tf.slice(this.table.read(), [start, 0], [length, channels]);
    return tf.add(x, positions);
  }
}

tf.serialization.registerClass(PositionalEmbedding);

/**
 * Absolute positional embedding added to a sequence (tfjs-style factory):
 * `positionalEmbeddingLayer({maxLength: 128})`, or `{kind: 'learned', maxLength: 128}`. See
 * {@link PositionalEmbedding}.
 */
export function positionalEmbeddingLayer(args: PositionalEmbeddingLayerArgs): PositionalEmbedding {
  return new PositionalEmbedding(args);
}
