import { type CharLMConfig, createModel, type TextDataset, train } from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';
import { ProgressDisplay } from '../ui/progress.js';

export interface TrainingMeasurement {
  parameters: number;
  /** Mean wall time of the steps after the first (which compiles kernels). */
  msPerStep: number;
  /** Peak tensor bytes of one more step above what was allocated before it. */
  stepPeakBytes: number;
}

export interface TrainingMeasurementOptions {
  trainSteps: number;
  batchSize: number;
  seed: number;
  recompute: boolean;
}

/**
 * Trains a fresh model of `config` for `trainSteps` steps on `text`, timing the steps after the
 * first, then profiles one more step: its peak tensor bytes above the resident weights
 * (activations, gradients and the optimizer's moments, as `tf.profile` sees them).
 */
export async function measureTraining(
  config: CharLMConfig,
  text: TextDataset,
  options: TrainingMeasurementOptions,
  label: string,
): Promise<TrainingMeasurement> {
  const model = createModel(config, { seed: options.seed });
  const stepTimes: Array<{ step: number; elapsedMs: number }> = [];
  const progress = new ProgressDisplay(options.trainSteps, `${label} training step`, 10);
  const trainOptions = {
    batchSize: options.batchSize,
    learningRate: 1e-3,
    seed: options.seed,
    recompute: options.recompute,
  };
  try {
    await train(
      model,
      { train: text },
      {
        ...trainOptions,
        steps: options.trainSteps,
        onProgress: (event) => {
          stepTimes.push({ step: event.step, elapsedMs: event.elapsedMs });
          progress.update({ step: event.step, loss: event.loss });
        },
      },
    );
    progress.stop();
    const before = tf.memory().numBytes;
    const profile = await tf.profile(async () => {
      await train(model, { train: text }, { ...trainOptions, steps: 1 });
      return [];
    });
    const first = stepTimes[0];
    const last = stepTimes[stepTimes.length - 1];
    return {
      parameters: model.parameterCount(),
      msPerStep: (last.elapsedMs - first.elapsedMs) / (last.step - first.step),
      stepPeakBytes: Math.max(0, profile.peakBytes - before),
    };
  } finally {
    progress.stop();
    model.dispose();
  }
}
