import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../create_model.js';
import { randomSeed, SeededRandom } from '../random.js';
import type { Metrics } from '../tasks/batch.js';
import { AdamW } from './adamw.js';
import { cleanUp } from './cleanup.js';
import { clipByGlobalNorm } from './clip.js';
import type { Dataset } from './datasets.js';
import { evaluateIndices } from './evaluate.js';
import { learningRateAt } from './learning_rate.js';
import { createSampler, disposeBatch, type Sampler } from './samplers.js';
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
  'onProgress',
  'signal',
];

function checkOptions(
  options: TrainOptions,
): Required<Pick<TrainOptions, 'warmupSteps' | 'minLearningRate' | 'weightDecay' | 'seed'>> {
  const fail = (message: string): never => {
    throw new Error(`train: ${message}`);
  };
  if (options == null || typeof options !== 'object') fail('options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key))
      fail(`unknown option ${key}; expected only ${OPTION_NAMES.join(', ')}`);
  }
  const positiveInteger = (name: keyof TrainOptions, value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 1) {
      fail(`options.${name} must be a positive integer, got ${String(value)}`);
    }
  };
  positiveInteger('steps', options.steps);
  positiveInteger('batchSize', options.batchSize);
  if (!(options.learningRate > 0))
    fail(`options.learningRate must be > 0, got ${String(options.learningRate)}`);
  const warmupSteps = options.warmupSteps ?? 0;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > options.steps) {
    fail(
      `options.warmupSteps must be an integer in [0, steps = ${options.steps}], got ${String(warmupSteps)}`,
    );
  }
  const minLearningRate = options.minLearningRate ?? 0;
  if (!(minLearningRate >= 0 && minLearningRate <= options.learningRate)) {
    fail(`options.minLearningRate must be in [0, learningRate], got ${String(minLearningRate)}`);
  }
  const weightDecay = options.weightDecay ?? 0;
  if (!(weightDecay >= 0)) fail(`options.weightDecay must be >= 0, got ${String(weightDecay)}`);
  if (options.clipNorm !== undefined && !(options.clipNorm > 0)) {
    fail(`options.clipNorm must be > 0, got ${String(options.clipNorm)}`);
  }
  if (options.evalEvery !== undefined) positiveInteger('evalEvery', options.evalEvery);
  if (options.evalBatches !== undefined) positiveInteger('evalBatches', options.evalBatches);
  if (options.earlyStopping !== undefined) {
    const { patience } = options.earlyStopping ?? {};
    if (!Number.isInteger(patience) || (patience as number) < 1) {
      fail(`options.earlyStopping.patience must be a positive integer, got ${String(patience)}`);
    }
  }
  const seed = options.seed ?? randomSeed();
  if (!Number.isFinite(seed)) fail(`options.seed must be a finite number, got ${String(seed)}`);
  return { warmupSteps, minLearningRate, weightDecay, seed };
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
  const { warmupSteps, minLearningRate, weightDecay, seed } = checkOptions(options);
  if (data == null || typeof data !== 'object')
    throw new Error('train: data must be {train, validation?}');
  const { steps, batchSize } = options;
  const trainSampler = createSampler(model, data.train, 'train (data.train)');
  const validationSampler = data.validation
    ? createSampler(model, data.validation, 'train (data.validation)')
    : null;
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
  const optimizer = new AdamW(parameters, { weightDecay });
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
            () => model.loss(batch, { training: true, random: dropoutRandom }),
            variables,
          );
          const gradients =
            options.clipNorm === undefined
              ? grads
              : clipByGlobalNorm(grads, options.clipNorm).gradients;
          optimizer.apply(gradients, learningRate);
          return value;
        });
        loss = (await lossTensor.data())[0];
        lossTensor.dispose();
      } catch (error) {
        stepFailed = true;
        throw explain(
          error,
          `training step ${step} (batch ${batchSize} × context ${trainSampler.positions})`,
        );
      } finally {
        cleanUp(() => disposeBatch(batch), stepFailed);
      }
      if (!Number.isFinite(loss)) {
        throw new Error(
          `train: the loss is ${loss} at step ${step}; lower the learningRate or set clipNorm`,
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
