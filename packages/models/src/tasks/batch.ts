import type * as tf from '@tensorflow/tfjs-core';

/** One batch of examples in the form a task's model consumes (built by the training samplers). */
export interface Batch {
  /** char-lm: ids int32 [B, L]; others: float32 [B, L, channels] in original units. */
  inputs: tf.Tensor;
  /** char-lm: next ids int32 [B, L]; classifier: labels int32 [B]; forecaster: [B, horizon]. */
  targets: tf.Tensor;
  /** Forecaster with `'time'` positions: timestamps [B, L]. */
  times?: tf.Tensor2D;
  /** char-lm from a token dataset with weights: each position's weight in the loss [B, L]. */
  weights?: tf.Tensor2D;
}

/** Sums over the examples of a batch, added up by `evaluate` into {@link Metrics}. */
export interface MetricSums {
  /** Number of predictions (tokens, examples, or forecast values), or their summed weights. */
  count: number;
  /** Sum of per-prediction losses (nats for cross-entropy, normalised squared error for MSE). */
  loss: number;
  correct?: number;
  absoluteError?: number;
  squaredError?: number;
}

/** Metrics of a model on a dataset. */
export interface Metrics {
  /** Mean training loss: cross-entropy in nats, or MSE in normalised units for forecasting. */
  loss: number;
  bitsPerChar?: number;
  accuracy?: number;
  /** Forecasting, in original units. */
  mae?: number;
  rmse?: number;
}

export function addSums(total: MetricSums, part: MetricSums): MetricSums {
  const add = (a?: number, b?: number) =>
    a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
  return {
    count: total.count + part.count,
    loss: total.loss + part.loss,
    correct: add(total.correct, part.correct),
    absoluteError: add(total.absoluteError, part.absoluteError),
    squaredError: add(total.squaredError, part.squaredError),
  };
}
