import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../create_model.js';
import { describeValue } from '../options.js';
import type { SeededRandom } from '../random.js';
import type { Batch } from '../tasks/batch.js';
import { CharLM, UNKNOWN_ID } from '../tasks/char_lm.js';
import { Forecaster } from '../tasks/forecaster.js';
import {
  checkDatasetFields,
  checkFiniteValues,
  checkIntegerField,
  checkLabels,
  checkTokenIds,
  checkWeights,
} from './dataset_checks.js';
import type {
  Dataset,
  SequenceDataset,
  SeriesDataset,
  TextDataset,
  TokenDataset,
} from './datasets.js';

/**
 * Turns a dataset into batches for one model: random batches for training, and a fixed,
 * ordered cover of the dataset for evaluation.
 */
export interface Sampler {
  /** Number of evaluation windows/examples. */
  readonly size: number;
  /**
   * Number of distinct windows/examples a random training batch draws from: every start of a
   * window in a text or a series, every example of a set of sequences. A batch larger than this
   * must repeat some of them.
   */
  readonly trainingSize: number;
  /** What the sampler's items are, for messages: `windows of 17 characters`, `examples`, … */
  readonly unit: string;
  /** Sequence positions per example, for tokens/s. */
  readonly positions: number;
  randomBatch(batchSize: number, random: SeededRandom): Batch;
  /** Examples `indices` of the evaluation cover. */
  batchOf(indices: number[]): Batch;
}

/**
 * Bounds a batch size, already checked to be a positive integer, by the items a dataset has
 * (`most`, explained by `why`): beyond them a batch holds nothing new, only more memory, and a
 * huge one (1e9) would allocate until the process dies.
 */
export function checkBatchSize(where: string, batchSize: number, most: number, why: string): void {
  if (batchSize > most) {
    throw new Error(
      `${where}: options.batchSize must be an integer in [1, ${most}] (${why}), got ${describeValue(batchSize)}`,
    );
  }
}

export function disposeBatch(batch: Batch): void {
  const optional = [batch.times, batch.weights].filter((x) => x !== undefined);
  tf.dispose([batch.inputs, batch.targets, ...optional]);
}

/** The dataset kinds each task reads. */
const EXPECTED_KINDS: Record<Model['task'], readonly string[]> = {
  'char-lm': ['text', 'tokens'],
  'sequence-classifier': ['sequences'],
  forecaster: ['series'],
};

export function createSampler(model: Model, dataset: Dataset, where: string): Sampler {
  const expected = EXPECTED_KINDS[model.task];
  const kinds = expected.map((kind) => `'${kind}'`).join(' or ');
  if (dataset === null || typeof dataset !== 'object' || Array.isArray(dataset)) {
    throw new Error(
      `${where}: a ${model.task} model needs a dataset {kind: ${kinds}, …}, got ${describeValue(dataset)}`,
    );
  }
  if (!expected.includes(dataset.kind)) {
    throw new Error(
      `${where}: a ${model.task} model needs a dataset of kind ${kinds}, got ${describeValue((dataset as { kind: unknown }).kind)}`,
    );
  }
  if (model instanceof CharLM) {
    return dataset.kind === 'tokens'
      ? new TokenSampler(model, dataset, where)
      : new TextSampler(model, dataset as TextDataset, where);
  }
  if (model instanceof Forecaster) return new SeriesSampler(model, dataset as SeriesDataset, where);
  return new SequenceSampler(
    model.config.inputChannels,
    model.config.numClasses,
    model.config.maxLength,
    dataset as SequenceDataset,
    where,
  );
}

/** Windows of L + 1 characters; evaluation covers the text with windows at stride L. */
class TextSampler implements Sampler {
  readonly size: number;
  readonly trainingSize: number;
  readonly unit: string;
  readonly positions: number;
  private readonly ids: Int32Array;

  constructor(model: CharLM, dataset: TextDataset, where: string) {
    checkDatasetFields(where, dataset, ['kind', 'text']);
    const { text } = dataset;
    if (typeof text !== 'string') {
      throw new Error(`${where}: dataset.text must be a string, got ${describeValue(text)}`);
    }
    this.ids = model.encode(text);
    if (this.ids.length < 2) {
      throw new Error(
        `${where}: dataset.text must have at least 2 characters, got ${this.ids.length}`,
      );
    }
    if (this.ids.every((id) => id === UNKNOWN_ID)) {
      throw new Error(
        `${where}: dataset.text has none of the ${model.characters.length} characters of the model's vocabulary, so every token would be the unknown id ${UNKNOWN_ID}`,
      );
    }
    this.positions = Math.min(model.maxLength, this.ids.length - 1);
    this.size = Math.floor((this.ids.length - 1) / this.positions);
    this.trainingSize = this.ids.length - this.positions;
    this.unit = `windows of ${this.positions + 1} characters`;
  }

  randomBatch(batchSize: number, random: SeededRandom): Batch {
    const starts = Array.from({ length: batchSize }, () => random.nextInt(this.trainingSize));
    return this.windows(starts);
  }

  batchOf(indices: number[]): Batch {
    return this.windows(indices.map((i) => i * this.positions));
  }

  private windows(starts: number[]): Batch {
    const length = this.positions;
    const inputs = new Int32Array(starts.length * length);
    const targets = new Int32Array(starts.length * length);
    starts.forEach((start, b) => {
      inputs.set(this.ids.subarray(start, start + length), b * length);
      targets.set(this.ids.subarray(start + 1, start + 1 + length), b * length);
    });
    return {
      inputs: tf.tensor2d(inputs, [starts.length, length], 'int32'),
      targets: tf.tensor2d(targets, [starts.length, length], 'int32'),
    };
  }
}

/** Indices of `size` examples, reshuffled each time all of them have been drawn. */
class EpochOrder {
  private order: number[] = [];

  constructor(private readonly size: number) {}

  draw(count: number, random: SeededRandom): number[] {
    const indices: number[] = [];
    while (indices.length < count) {
      if (this.order.length === 0) this.order = shuffled(this.size, random);
      indices.push(this.order.pop()!);
    }
    return indices;
  }
}

/**
 * A fixed set of `size` examples of `positions` steps each: training draws them by reshuffling
 * each epoch, evaluation reads them in order.
 */
abstract class ExampleSetSampler implements Sampler {
  abstract readonly unit: string;
  readonly trainingSize: number;
  private readonly order: EpochOrder;

  constructor(
    readonly size: number,
    readonly positions: number,
  ) {
    this.trainingSize = size;
    this.order = new EpochOrder(size);
  }

  randomBatch(batchSize: number, random: SeededRandom): Batch {
    return this.batchOf(this.order.draw(batchSize, random));
  }

  abstract batchOf(indices: number[]): Batch;
}

/** Sequences the caller prepared, drawn by reshuffling each epoch; evaluation in order. */
class TokenSampler extends ExampleSetSampler {
  readonly unit = 'sequences';

  constructor(
    model: CharLM,
    private readonly dataset: TokenDataset,
    where: string,
  ) {
    checkDatasetFields(where, dataset, ['kind', 'inputs', 'targets', 'length', 'weights']);
    const { inputs, targets, length, weights } = dataset;
    const { maxLength, vocabularySize } = model;
    checkIntegerField(where, 'length', length, 1, maxLength, `[1, maxLength = ${maxLength}]`);
    for (const [field, ids] of [
      ['inputs', inputs],
      ['targets', targets],
    ] as const) {
      checkTokenIds(where, field, ids, vocabularySize);
    }
    if (inputs.length === 0 || inputs.length % length !== 0) {
      throw new Error(
        `${where}: dataset.inputs must hold N × length = N × ${length} ids (N >= 1), got ${inputs.length}`,
      );
    }
    if (targets.length !== inputs.length) {
      throw new Error(
        `${where}: dataset.targets must hold one id per input id (${inputs.length}), got ${targets.length}`,
      );
    }
    if (weights !== undefined) checkWeights(where, weights, inputs.length, length);
    super(inputs.length / length, length);
  }

  batchOf(indices: number[]): Batch {
    const { length, inputs, targets, weights } = this.dataset;
    const rows = <T extends Int32Array | Float32Array>(values: T, out: T): T => {
      indices.forEach((index, b) => {
        out.set(values.subarray(index * length, (index + 1) * length), b * length);
      });
      return out;
    };
    const size = indices.length * length;
    const shape: [number, number] = [indices.length, length];
    const batch: Batch = {
      inputs: tf.tensor2d(rows(inputs, new Int32Array(size)), shape, 'int32'),
      targets: tf.tensor2d(rows(targets, new Int32Array(size)), shape, 'int32'),
    };
    if (weights) batch.weights = tf.tensor2d(rows(weights, new Float32Array(size)), shape);
    return batch;
  }
}

/** Examples drawn by reshuffling each epoch; evaluation in order. */
class SequenceSampler extends ExampleSetSampler {
  readonly unit = 'examples';

  constructor(
    private readonly channels: number,
    numClasses: number,
    maxLength: number,
    private readonly dataset: SequenceDataset,
    where: string,
  ) {
    checkDatasetFields(where, dataset, ['kind', 'inputs', 'length', 'channels', 'labels']);
    const { inputs, length, labels } = dataset;
    if (dataset.channels !== channels) {
      throw new Error(
        `${where}: dataset.channels must equal the model's inputChannels = ${channels}, got ${describeValue(dataset.channels)}`,
      );
    }
    checkIntegerField(where, 'length', length, 1, maxLength, `[1, maxLength = ${maxLength}]`);
    checkLabels(where, labels, numClasses);
    const exampleSize = length * channels;
    checkFiniteValues(where, 'inputs', inputs, (i) => {
      const position = Math.floor((i % exampleSize) / channels);
      return ` (example ${Math.floor(i / exampleSize)}, position ${position}, channel ${i % channels})`;
    });
    if (labels.length < 1 || inputs.length !== labels.length * exampleSize) {
      throw new Error(
        `${where}: dataset.inputs must hold labels.length × length × channels = ${labels.length} × ${length} × ${channels} values, got ${inputs.length}`,
      );
    }
    super(labels.length, length);
  }

  batchOf(indices: number[]): Batch {
    const { length, inputs, labels } = this.dataset;
    const exampleSize = length * this.channels;
    const values = new Float32Array(indices.length * exampleSize);
    indices.forEach((index, b) => {
      values.set(inputs.subarray(index * exampleSize, (index + 1) * exampleSize), b * exampleSize);
    });
    return {
      inputs: tf.tensor3d(values, [indices.length, length, this.channels]),
      targets: tf.tensor1d(
        Int32Array.from(indices, (i) => labels[i]),
        'int32',
      ),
    };
  }
}

/** Windows of inputLength steps and the next horizon values of channel 0; evaluation at stride horizon. */
class SeriesSampler implements Sampler {
  readonly size: number;
  readonly trainingSize: number;
  readonly unit: string;
  readonly positions: number;
  private readonly steps: number;
  private readonly useTimes: boolean;

  constructor(
    model: Forecaster,
    private readonly dataset: SeriesDataset,
    where: string,
  ) {
    checkDatasetFields(where, dataset, [
      'kind',
      'values',
      'channels',
      'times',
      'inputLength',
      'horizon',
    ]);
    const { inputChannels, maxLength, horizon, positional } = model.config;
    const { values, channels, times, inputLength } = dataset;
    if (channels !== inputChannels) {
      throw new Error(
        `${where}: dataset.channels must equal the model's inputChannels = ${inputChannels}, got ${describeValue(channels)}`,
      );
    }
    if (dataset.horizon !== horizon) {
      throw new Error(
        `${where}: dataset.horizon must equal the model's horizon = ${horizon}, got ${describeValue(dataset.horizon)}`,
      );
    }
    checkIntegerField(
      where,
      'inputLength',
      inputLength,
      1,
      maxLength,
      `[1, maxLength = ${maxLength}]`,
    );
    checkFiniteValues(
      where,
      'values',
      values,
      (i) => ` (step ${Math.floor(i / channels)}, channel ${i % channels})`,
    );
    if (values.length % channels !== 0) {
      throw new Error(
        `${where}: dataset.values length ${values.length} is not a multiple of channels = ${channels}`,
      );
    }
    if (times !== undefined) checkFiniteValues(where, 'times', times);
    this.steps = values.length / channels;
    if (times && times.length !== this.steps) {
      throw new Error(
        `${where}: dataset.times must have one entry per step (${this.steps}), got ${times.length}`,
      );
    }
    const windows = this.steps - inputLength - horizon + 1;
    if (windows < 1) {
      throw new Error(
        `${where}: the series has ${this.steps} steps, fewer than inputLength + horizon = ${inputLength + horizon}`,
      );
    }
    this.useTimes = positional === 'time' && times !== undefined;
    this.size = Math.floor((windows - 1) / horizon) + 1;
    this.trainingSize = windows;
    this.unit = `windows of inputLength + horizon = ${inputLength + horizon} steps`;
    this.positions = inputLength;
  }

  randomBatch(batchSize: number, random: SeededRandom): Batch {
    const windows = this.trainingSize;
    return this.windows(Array.from({ length: batchSize }, () => random.nextInt(windows)));
  }

  batchOf(indices: number[]): Batch {
    return this.windows(indices.map((i) => i * this.dataset.horizon));
  }

  private windows(starts: number[]): Batch {
    const { values, channels, inputLength, horizon, times } = this.dataset;
    const inputs = new Float32Array(starts.length * inputLength * channels);
    const targets = new Float32Array(starts.length * horizon);
    const windowTimes = new Float32Array(starts.length * inputLength);
    starts.forEach((start, b) => {
      inputs.set(
        values.subarray(start * channels, (start + inputLength) * channels),
        b * inputLength * channels,
      );
      for (let h = 0; h < horizon; h++)
        targets[b * horizon + h] = values[(start + inputLength + h) * channels];
      if (times) windowTimes.set(times.subarray(start, start + inputLength), b * inputLength);
    });
    const batch: Batch = {
      inputs: tf.tensor3d(inputs, [starts.length, inputLength, channels]),
      targets: tf.tensor2d(targets, [starts.length, horizon]),
    };
    if (this.useTimes) batch.times = tf.tensor2d(windowTimes, [starts.length, inputLength]);
    return batch;
  }
}

function shuffled(size: number, random: SeededRandom): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
