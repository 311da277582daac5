import * as tf from '@tensorflow/tfjs-core';
import type { ForecasterConfig } from '../config/types.js';
import {
  callArguments,
  type ForwardContext,
  type ForwardOptions,
  forwardContext,
} from '../forward_context.js';
import { describeValue } from '../options.js';
import { BaseModel } from './base_model.js';
import type { Batch, MetricSums } from './batch.js';
import { checkSequenceInput } from './input_checks.js';

/**
 * Multi-step forecasting: inputs [B, L, inputChannels] are normalised with the config's
 * per-channel mean and std, embedded linearly, run through a causal backbone, and the state at
 * the last position predicts the next `horizon` values of channel 0, returned in original units.
 * The loss is the MSE in normalised units.
 */
export class Forecaster extends BaseModel<ForecasterConfig> {
  private readonly mean: Float32Array;
  private readonly std: Float32Array;

  constructor(config: ForecasterConfig, seed: number) {
    super(config, seed);
    const channels = config.inputChannels;
    this.mean = Float32Array.from(config.normalization?.mean ?? new Array(channels).fill(0));
    this.std = Float32Array.from(config.normalization?.std ?? new Array(channels).fill(1));
  }

  /**
   * Forecast in normalised units [B, horizon]. Inference by default; `{training: true, seed}`
   * turns dropout on, with masks the seed fixes.
   */
  normalizedForecast(
    inputs: tf.Tensor3D,
    times?: tf.Tensor2D,
    options?: ForwardOptions | ForwardContext,
  ): tf.Tensor2D {
    this.assertAlive();
    const context = forwardContext('Forecaster.normalizedForecast', options);
    const { inputChannels, maxLength } = this.config;
    checkSequenceInput('Forecaster', inputs, inputChannels, maxLength);
    if (times !== undefined) {
      const [batch, length] = inputs.shape;
      if (!(times instanceof tf.Tensor) || times.isDisposed) {
        throw new Error(
          `Forecaster: times must be a float32 tf.Tensor2D [B, L] = [${batch}, ${length}], got ${times instanceof tf.Tensor ? 'a disposed tensor' : describeValue(times)}`,
        );
      }
      if (times.rank !== 2 || times.shape[0] !== batch || times.shape[1] !== length) {
        throw new Error(
          `Forecaster: times must have shape [B, L] = [${batch}, ${length}], got [${times.shape.join(', ')}]`,
        );
      }
      if (this.config.positional !== 'time') {
        throw new Error(
          `Forecaster: times are only used with positional: 'time', this model has '${this.config.positional}'`,
        );
      }
    }
    return tf.tidy(
      () =>
        this.network.apply(
          this.networkInputs(inputs, times),
          callArguments(context),
        ) as tf.Tensor2D,
    );
  }

  /** The normalised inputs, and with `positional: 'time'` the times (evenly spaced if absent). */
  protected networkInputs(inputs: tf.Tensor, times?: tf.Tensor2D): tf.Tensor | tf.Tensor[] {
    const normalized = tf.div(tf.sub(inputs, this.mean), this.std);
    if (this.config.positional !== 'time') return normalized;
    const [batch, length] = inputs.shape;
    const steps = times ?? tf.tile(tf.expandDims(tf.range(0, length, 1, 'float32'), 0), [batch, 1]);
    return [normalized, steps];
  }

  /** The next `horizon` values of channel 0 [B, horizon], in original units. */
  predict(inputs: tf.Tensor3D, times?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() =>
      tf.add(tf.mul(this.normalizedForecast(inputs, times), this.std[0]), this.mean[0]),
    );
  }

  loss(batch: Batch, context: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      const forecast = this.normalizedForecast(batch.inputs as tf.Tensor3D, batch.times, context);
      const target = tf.div(tf.sub(batch.targets, this.mean[0]), this.std[0]);
      return tf.mean(tf.squaredDifference(forecast, target));
    }) as tf.Scalar;
  }

  async metricSums(batch: Batch): Promise<MetricSums> {
    const sums = tf.tidy(() => {
      const forecast = this.normalizedForecast(batch.inputs as tf.Tensor3D, batch.times);
      const target = tf.div(tf.sub(batch.targets, this.mean[0]), this.std[0]);
      const error = tf.mul(tf.sub(forecast, target), this.std[0]);
      const squared = tf.sum(tf.square(error));
      return tf.stack([tf.div(squared, this.std[0] * this.std[0]), tf.sum(tf.abs(error)), squared]);
    });
    const [loss, absoluteError, squaredError] = await sums.data();
    sums.dispose();
    return { count: batch.targets.size, loss, absoluteError, squaredError };
  }
}
