import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedBackboneConfig, SequenceClassifierConfig } from '../config/types.js';
import { Backbone } from '../layers/backbone.js';
import { type ForwardContext, type ForwardOptions, forwardContext } from '../layers/context.js';
import { Linear } from '../layers/linear.js';
import { BaseModel } from './base_model.js';
import type { Batch, MetricSums } from './batch.js';
import { checkSequenceInput } from './input_checks.js';
import { correctCount, crossEntropy } from './losses.js';

/**
 * Sequence classification: a linear input embedding of [B, L, inputChannels], a non-causal
 * backbone, mean pooling over positions and a linear head over the classes.
 */
export class SequenceClassifier extends BaseModel<SequenceClassifierConfig> {
  private readonly inputEmbedding: Linear;
  private readonly backbone: Backbone;
  private readonly head: Linear;

  constructor(config: SequenceClassifierConfig, seed: number) {
    super(config, seed);
    try {
      this.inputEmbedding = new Linear(
        this.store,
        'input_embedding',
        config.inputChannels,
        config.dModel,
      );
      this.backbone = new Backbone(this.store, config as ResolvedBackboneConfig, false);
      this.head = new Linear(this.store, 'head', config.dModel, config.numClasses);
    } catch (error) {
      this.abandon(error);
    }
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
    return tf.tidy(() => {
      const embedded = this.inputEmbedding.apply(inputs) as tf.Tensor3D;
      const pooled = tf.mean(this.backbone.apply(embedded, context), 1);
      return this.head.apply(pooled) as tf.Tensor2D;
    });
  }

  /** Class probabilities [B, numClasses] of inputs [B, L, inputChannels]. */
  predict(inputs: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(inputs)));
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
