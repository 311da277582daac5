import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../create_model.js';
import { checkNumber, checkOptions, describeValue, isPositiveInteger } from '../options.js';
import { randomSeed, SeededRandom } from '../random.js';
import { assertModel } from '../tasks/base_model.js';
import type { Metrics } from '../tasks/batch.js';
import { AdamW } from './adamw.js';
import { cleanUp } from './cleanup.js';
import { clipByGlobalNorm } from './clip.js';
import type { Dataset } from './datasets.js';
import { evaluateIndices } from './evaluate.js';
import { releaseAbandonedTape } from './gradient_tape.js';
import { learningRateAt } from './learning_rate.js';
import { checkBatchSize, createSampler, disposeBatch, type Sampler } from './samplers.js';
import { explainWasmFailure } from './wasm_failure.js';

export interface TrainProgress {
  /** 1-based step just completed. */
  step: number;
  steps: number;
  /** Training loss of this step's batch. */
  loss: number;
  learningRate: number;
  /** Since train() started. */
  elapsedMs: number;
  /** Sequence positions processed per second in this step. */
  tokensPerSecond?: number;
  /** Present on the steps where the validation set was evaluated. */
  validation?: Metrics;
}

export interface TrainOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate. */
  learningRate: number;
  /** Linear warm-up steps before the cosine decay. Default 0. */
  warmupSteps?: number;
  /** Learning rate reached at the last step. Default 0. */
  minLearningRate?: number;
  /** AdamW decoupled weight decay on linear-map matrices (not norms, biases or embeddings). Default 0. */
  weightDecay?: number;
  /** Global-norm gradient clipping. Default: none. */
  clipNorm?: number;
  /** Evaluate the validation set every this many steps (and after the last). Default: steps / 10. */
  evalEvery?: number;
  /** Batches of the validation set per evaluation (evenly spread over it). Default: all of it. */
  evalBatches?: number;
  /** Stop after `patience` evaluations without a better validation loss; restores the best weights. */
  earlyStopping?: { patience: number };
  /** Seeds the batches and the dropout. Default: random. */
  seed?: number;
  /**
   * Recompute each block's activations in the backward pass instead of keeping them from the
   * forward pass (gradient checkpointing): a step holds one block's activations at a time, for
   * long contexts, at the cost of about one more forward pass. Same gradients. Default false.
   */
  recompute?: boolean;
  onProgress?: (event: TrainProgress) => void;
  /** Stops after the current step; train() then resolves with what was done. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** One entry per completed step. */
  history: TrainProgress[];
  /** The best validation metrics seen (the weights the model ends with under early stopping). */
  best?: Metrics;
  /** Why training ended before `steps`, if it did. */
  stopped?: 'early-stopping' | 'aborted';
}

const OPTION_NAMES = [
  'steps',
  'batchSize',
  'learningRate',
  'warmupSteps',
  'minLearningRate',
  'weightDecay',
  'clipNorm',
  'evalEvery',
  'evalBatches',
  'earlyStopping',
  'seed',
  'recompute',
  'onProgress',
  'signal',
];

const WHERE = 'train';
const isPositiveFinite = (x: number) => x > 0 && Number.isFinite(x);

/** The options with their defaults, each checked for type and range. */
function checkTrainOptions(given: unknown) {
  const options = checkOptions<TrainOptions>(WHERE, given, OPTION_NAMES);
  const integer = (name: keyof TrainOptions) =>
    checkNumber(WHERE, `options.${name}`, options[name], isPositiveInteger, 'a positive integer');
  const steps = integer('steps');
  const batchSize = integer('batchSize');
  const learningRate = checkNumber(
    WHERE,
    'options.learningRate',
    options.learningRate,
    isPositiveFinite,
    'a finite number > 0',
  );
  const warmupSteps = checkNumber(
    WHERE,
    'options.warmupSteps',
    options.warmupSteps ?? 0,
    (x) => Number.isInteger(x) && x >= 0 && x <= steps,
    `an integer in [0, steps = ${steps}]`,
  );
  const minLearningRate = checkNumber(
    WHERE,
    'options.minLearningRate',
    options.minLearningRate ?? 0,
    (x) => x >= 0 && x <= learningRate,
    `a number in [0, learningRate = ${learningRate}]`,
  );
  const weightDecay = checkNumber(
    WHERE,
    'options.weightDecay',
    options.weightDecay ?? 0,
    (x) => x >= 0 && Number.isFinite(x),
    'a finite number >= 0',
  );
  if (options.clipNorm !== undefined) {
    checkNumber(WHERE, 'options.clipNorm', options.clipNorm, isPositiveFinite, 'a number > 0');
  }
  if (options.evalEvery !== undefined) integer('evalEvery');
  if (options.evalBatches !== undefined) integer('evalBatches');
  if (options.earlyStopping !== undefined) {
    const { patience } = checkOptions<{ patience: number }>(
      WHERE,
      options.earlyStopping,
      ['patience'],
      'options.earlyStopping',
    );
    checkNumber(
      WHERE,
      'options.earlyStopping.patience',
      patience,
      isPositiveInteger,
      'a positive integer',
    );
  }
  const seed = checkNumber(
    WHERE,
    'options.seed',
    options.seed ?? randomSeed(),
    Number.isFinite,
    'a finite number',
  );
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new Error(
      `${WHERE}: options.onProgress must be a function, got ${describeValue(options.onProgress)}`,
    );
  }
  const { signal } = options;
  if (signal !== undefined && typeof (signal as { aborted?: unknown })?.aborted !== 'boolean') {
    throw new Error(
      `${WHERE}: options.signal must be an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  const recompute = options.recompute ?? false;
  if (typeof recompute !== 'boolean') {
    throw new Error(
      `${WHERE}: options.recompute must be true or false, got ${describeValue(recompute)}`,
    );
  }
  return { steps, batchSize, warmupSteps, minLearningRate, weightDecay, seed, recompute };
}

/** Validation indices: `batches` × batchSize examples spread evenly over the evaluation cover. */
function validationIndices(sampler: Sampler, batchSize: number, batches?: number): number[] {
  const count = batches === undefined ? sampler.size : Math.min(sampler.size, batches * batchSize);
  return Array.from({ length: count }, (_, i) => Math.floor((i * sampler.size) / count));
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Trains a model with AdamW (decoupled weight decay on linear-map matrices only), linear
 * warm-up then cosine decay, optional global-norm clipping, periodic validation and early
 * stopping that restores the best weights. The same model seed, data and options.seed give the
 * same loss curve. Leaves no tensors behind.
 */
export async function train(
  model: Model,
  data: { train: Dataset; validation?: Dataset },
  options: TrainOptions,
): Promise<TrainResult> {
  assertModel(WHERE, model);
  const { steps, batchSize, warmupSteps, minLearningRate, weightDecay, seed, recompute } =
    checkTrainOptions(options);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`train: data must be {train, validation?}, got ${describeValue(data)}`);
  }
  checkOptions(WHERE, data, ['train', 'validation'], 'data', 'field');
  const trainSampler = createSampler(model, data.train, 'train (data.train)');
  checkBatchSize(
    WHERE,
    batchSize,
    trainSampler.trainingSize,
    `data.train holds ${trainSampler.trainingSize} distinct ${trainSampler.unit}; a larger batch would repeat them`,
  );
  const validationSampler =
    data.validation == null
      ? null
      : createSampler(model, data.validation, 'train (data.validation)');
  if (options.earlyStopping && !validationSampler) {
    throw new Error('train: options.earlyStopping needs data.validation');
  }
  const evalEvery = options.evalEvery ?? Math.max(1, Math.floor(steps / 10));
  const validationSet = validationSampler
    ? validationIndices(validationSampler, batchSize, options.evalBatches)
    : [];

  const random = new SeededRandom(seed);
  const batchRandom = random.fork();
  const dropoutRandom = random.fork();
  const parameters = model.trainableVariables();
  const variables = parameters.map((p) => p.variable);
  const decayed = new Set(parameters.filter((p) => p.decay).map((p) => p.variable.name));
  const optimizer = new AdamW({
    learningRate: options.learningRate,
    weightDecay,
    decays: (name) => decayed.has(name),
  });
  const history: TrainProgress[] = [];
  let best: Metrics | undefined;
  let bestWeights: tf.Tensor[] | null = null;
  let evaluationsSinceBest = 0;
  let stopped: TrainResult['stopped'];
  const started = performance.now();
  const explain = (error: unknown, during: string) =>
    explainWasmFailure(error, {
      where: 'train',
      during,
      config: model.config,
      reduce: 'batchSize, maxLength (the context) or dModel',
      ...(recompute
        ? {}
        : {
            alternative:
              "Or train with recompute: true, which recomputes each block's activations in the backward pass and holds several times less per token.",
          }),
    });
  let failed = false;

  try {
    for (let step = 1; step <= steps; step++) {
      if (options.signal?.aborted) {
        stopped = 'aborted';
        break;
      }
      const stepStarted = performance.now();
      const learningRate = learningRateAt(step, {
        steps,
        peak: options.learningRate,
        warmupSteps,
        minimum: minLearningRate,
      });
      const batch = trainSampler.randomBatch(batchSize, batchRandom);
      let loss: number;
      let stepFailed = false;
      try {
        const lossTensor = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(
            () => model.loss(batch, { training: true, random: dropoutRandom, recompute }),
            variables,
          );
          const gradients =
            options.clipNorm === undefined
              ? grads
              : clipByGlobalNorm(grads, options.clipNorm).gradients;
          optimizer.learningRate = learningRate;
          optimizer.applyGradients(gradients);
          return value;
        });
        loss = (await lossTensor.data())[0];
        lossTensor.dispose();
      } catch (error) {
        stepFailed = true;
        cleanUp(releaseAbandonedTape, true);
        throw explain(
          error,
          `training step ${step} (batch ${batchSize} × context ${trainSampler.positions})`,
        );
      } finally {
        cleanUp(() => disposeBatch(batch), stepFailed);
      }
      if (!Number.isFinite(loss)) {
        // The data was checked to be finite where it entered, so this is the training diverging.
        throw new Error(
          `train: the loss is ${loss} at step ${step} although the data holds only finite values, so training diverged; lower the learningRate or set clipNorm`,
        );
      }
      const stepMs = performance.now() - stepStarted;
      const event: TrainProgress = {
        step,
        steps,
        loss,
        learningRate,
        elapsedMs: 0,
        tokensPerSecond: (batchSize * trainSampler.positions * 1000) / Math.max(stepMs, 1e-3),
      };
      if (validationSampler && (step % evalEvery === 0 || step === steps)) {
        try {
          event.validation = await evaluateIndices(
            model,
            validationSampler,
            validationSet,
            batchSize,
          );
        } catch (error) {
          const positions = validationSampler.positions;
          throw explain(error, `validation (batches of ${batchSize} × context ${positions})`);
        }
        if (!best || event.validation.loss < best.loss) {
          best = event.validation;
          evaluationsSinceBest = 0;
          if (options.earlyStopping) {
            if (bestWeights) tf.dispose(bestWeights);
            bestWeights = variables.map((v) => tf.clone(v));
          }
        } else {
          evaluationsSinceBest++;
        }
      }
      event.elapsedMs = performance.now() - started;
      history.push(event);
      options.onProgress?.(event);
      if (options.earlyStopping && evaluationsSinceBest >= options.earlyStopping.patience) {
        stopped = step < steps ? 'early-stopping' : undefined;
        break;
      }
      await yieldToEventLoop();
    }
    if (bestWeights) {
      const weights = bestWeights;
      variables.forEach((variable, i) => {
        variable.assign(weights[i]);
      });
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    cleanUp(() => optimizer.dispose(), failed);
    cleanUp(() => {
      if (bestWeights) tf.dispose(bestWeights);
    }, failed);
  }
  const result: TrainResult = { history };
  if (best) result.best = best;
  if (stopped) result.stopped = stopped;
  return result;
}
