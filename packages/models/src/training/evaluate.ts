import type { Model } from '../create_model.js';
import { checkNumber, checkOptions, isPositiveInteger } from '../options.js';
import { assertModel } from '../tasks/base_model.js';
import { addSums, type MetricSums, type Metrics } from '../tasks/batch.js';
import { cleanUp } from './cleanup.js';
import type { Dataset } from './datasets.js';
import { checkBatchSize, createSampler, disposeBatch, type Sampler } from './samplers.js';
import { explainWasmFailure } from './wasm_failure.js';

/** Turns summed metrics into means: loss, bits per char, accuracy, MAE and RMSE as the task has. */
export function metricsFromSums(task: Model['task'], sums: MetricSums): Metrics {
  // A count may be a sum of fractional weights (token datasets), so only 0 is replaced.
  const count = sums.count > 0 ? sums.count : 1;
  const metrics: Metrics = { loss: sums.loss / count };
  if (task === 'char-lm') metrics.bitsPerChar = metrics.loss / Math.LN2;
  if (sums.correct !== undefined) metrics.accuracy = sums.correct / count;
  if (sums.absoluteError !== undefined) metrics.mae = sums.absoluteError / count;
  if (sums.squaredError !== undefined) metrics.rmse = Math.sqrt(sums.squaredError / count);
  return metrics;
}

/** Metrics over `indices` of a sampler's evaluation cover, in batches. */
export async function evaluateIndices(
  model: Model,
  sampler: Sampler,
  indices: number[],
  batchSize: number,
): Promise<Metrics> {
  let sums: MetricSums = { count: 0, loss: 0 };
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = sampler.batchOf(indices.slice(start, start + batchSize));
    let failed = false;
    try {
      sums = addSums(sums, await model.metricSums(batch));
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      cleanUp(() => disposeBatch(batch), failed);
    }
  }
  return metricsFromSums(model.task, sums);
}

/** Examples per evaluation batch unless `options.batchSize` says otherwise (or the dataset has fewer). */
const DEFAULT_BATCH_SIZE = 32;

/**
 * Evaluates a model on a whole dataset, deterministically and without dropout. char-lm: the
 * text in consecutive windows of maxLength characters, each predicted from the window's start
 * (a tail shorter than one window is left out); sequences: every example; series: windows at
 * stride horizon, so each target value is predicted once.
 */
export async function evaluate(
  model: Model,
  data: Dataset,
  options?: { batchSize?: number },
): Promise<Metrics> {
  const where = 'evaluate';
  assertModel(where, model);
  const given = checkOptions<{ batchSize: number }>(where, options, ['batchSize']);
  if (given.batchSize !== undefined) {
    checkNumber(
      where,
      'options.batchSize',
      given.batchSize,
      isPositiveInteger,
      'a positive integer',
    );
  }
  const sampler = createSampler(model, data, where);
  const batchSize = given.batchSize ?? Math.min(DEFAULT_BATCH_SIZE, sampler.size);
  checkBatchSize(
    where,
    batchSize,
    sampler.size,
    `the dataset is evaluated as ${sampler.size} ${sampler.unit}`,
  );
  let metrics: Metrics;
  try {
    metrics = await evaluateIndices(
      model,
      sampler,
      Array.from({ length: sampler.size }, (_, i) => i),
      batchSize,
    );
  } catch (error) {
    throw explainWasmFailure(error, {
      where: 'evaluate',
      during: `evaluation (batches of ${batchSize} × context ${sampler.positions})`,
      config: model.config,
      reduce: 'options.batchSize, maxLength (the context) or dModel',
    });
  }
  if (!Number.isFinite(metrics.loss)) {
    // The data was checked to be finite where it entered, so the NaN comes from the model.
    throw new Error(
      `evaluate: the loss is ${metrics.loss} although the data holds only finite values: the model's weights hold NaN or infinite values, or its activations overflow float32`,
    );
  }
  return metrics;
}
