import * as tf from '@tensorflow/tfjs-core';
import type { SequenceClassifierConfig } from '../config/types.js';
import {
  callArguments,
  type ForwardContext,
  type ForwardOptions,
  forwardContext,
} from '../forward_context.js';
import { BaseModel } from './base_model.js';
import type { Batch, MetricSums } from './batch.js';
import { checkSequenceInput } from './input_checks.js';
import { correctCount, crossEntropy } from './losses.js';

/**
 * Sequence classification: a linear input embedding of [B, L, inputChannels], a non-causal
 * backbone, mean pooling over positions and a linear head over the classes.
 */
export class SequenceClassifier extends BaseModel<SequenceClassifierConfig> {
  constructor(config: SequenceClassifierConfig, seed: number) {
    super(config, seed);
  }

  /**
   * Class logits [B, numClasses] of inputs [B, L, inputChannels]. Inference by default;
   * `{training: true, seed}` turns dropout on, with masks the seed fixes.
   */
  logits(inputs: tf.Tensor3D, options?: ForwardOptions | ForwardContext): tf.Tensor2D {
    this.assertAlive();
    const context = forwardContext('SequenceClassifier.logits', options);
    const { inputChannels, maxLength } = this.config;
    checkSequenceInput('SequenceClassifier', inputs, inputChannels, maxLength);
    return this.network.apply(inputs, callArguments(context)) as tf.Tensor2D;
  }

  /** Class probabilities [B, numClasses] of inputs [B, L, inputChannels]. */
  predict(inputs: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(inputs)));
  }

  protected networkInputs(inputs: tf.Tensor): tf.Tensor {
    return inputs;
  }

  loss(batch: Batch, context: ForwardContext): tf.Scalar {
    return tf.tidy(() =>
      tf.mean(crossEntropy(this.logits(batch.inputs as tf.Tensor3D, context), batch.targets)),
    ) as tf.Scalar;
  }

  async metricSums(batch: Batch): Promise<MetricSums> {
    const sums = tf.tidy(() => {
      const logits = this.logits(batch.inputs as tf.Tensor3D);
      return tf.stack([
        tf.sum(crossEntropy(logits, batch.targets)),
        correctCount(logits, batch.targets),
      ]);
    });
    const [loss, correct] = await sums.data();
    sums.dispose();
    return { count: batch.targets.size, loss, correct };
  }
}
