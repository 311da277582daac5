import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../src/index.js';
import { useBackend } from './helpers.js';

/** AdamW in float64, one variable, `steps` gradients: the definition the class must follow. */
function adamWReference(
  start: number[],
  gradients: number[][],
  config: { learningRate: number; beta1: number; beta2: number; epsilon: number; decay: number },
): number[] {
  const theta = [...start];
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  gradients.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < theta.length; i++) {
      m[i] = config.beta1 * m[i] + (1 - config.beta1) * g[i];
      v[i] = config.beta2 * v[i] + (1 - config.beta2) * g[i] ** 2;
      const mHat = m[i] / (1 - config.beta1 ** t);
      const vHat = v[i] / (1 - config.beta2 ** t);
      theta[i] -=
        config.learningRate * (mHat / (Math.sqrt(vHat) + config.epsilon) + config.decay * theta[i]);
    }
  });
  return theta;
}

describe('AdamW, a tfjs optimizer', () => {
  beforeAll(() => useBackend('cpu'));

  it('follows the float64 definition; by default matrices decay and vectors do not', () => {
    const config = { learningRate: 0.05, beta1: 0.8, beta2: 0.95, epsilon: 1e-6 };
    const matrix = tf.variable(tf.tensor2d([1, -2, 0.5, 3], [2, 2]), true, 'adamw_matrix');
    const vector = tf.variable(tf.tensor1d([0.7, -0.1]), true, 'adamw_vector');
    const optimizer = new AdamW({ ...config, weightDecay: 0.1 });
    const gradients = [
      [0.3, -0.2, 0.1, 0.05],
      [0.1, 0.4, -0.3, 0.2],
      [-0.2, 0.1, 0.2, -0.1],
    ];
    for (const g of gradients) {
      tf.tidy(() =>
        optimizer.applyGradients({
          adamw_matrix: tf.tensor2d(g, [2, 2]),
          adamw_vector: tf.tensor1d(g.slice(0, 2)),
        }),
      );
    }
    const expectValues = (got: tf.Tensor, want: number[]) =>
      Array.from(got.dataSync()).forEach((x, i) => {
        expect(x).toBeCloseTo(want[i], 6);
      });
    expectValues(matrix, adamWReference([1, -2, 0.5, 3], gradients, { ...config, decay: 0.1 }));
    expectValues(
      vector,
      adamWReference(
        [0.7, -0.1],
        gradients.map((g) => g.slice(0, 2)),
        { ...config, decay: 0 },
      ),
    );
    expect(optimizer.iterations).toBe(3);
    optimizer.dispose();
    tf.dispose([matrix, vector]);
  });

  it('trains a tfjs-layers model through model.compile, and without decay equals tf.train.adam', async () => {
    const x = tf.randomNormal([32, 4], 0, 1, 'float32', 1);
    const y = tf.matMul(x, tf.tensor2d([1, -1, 0.5, 2], [4, 1]));
    const fitModel = async (optimizer: tf.Optimizer) => {
      const model = tfl.sequential({
        layers: [tfl.layers.dense({ units: 1, inputShape: [4], kernelInitializer: 'ones' })],
      });
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const history = await model.fit(x, y, {
        epochs: 20,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return { losses: history.history.loss as number[], weights };
    };
    const ours = await fitModel(new AdamW({ learningRate: 0.05 }));
    const reference = await fitModel(tf.train.adam(0.05));
    expect(ours.losses[ours.losses.length - 1]).toBeLessThan(ours.losses[0] / 10);
    ours.weights.flat().forEach((w, i) => {
      expect(w).toBeCloseTo(reference.weights.flat()[i], 4);
    });
    tf.dispose([x, y]);
  });

  it('saves and restores its state: training resumed from getWeights equals training straight on', async () => {
    const start = [0.5, -1.5, 2];
    const gradients = [
      [0.2, -0.1, 0.3],
      [0.1, 0.2, -0.2],
      [0.3, 0.1, 0.1],
      [-0.1, 0.2, 0.2],
    ];
    const run = async (resume: boolean) => {
      const variable = tf.tidy(() =>
        tf.variable(tf.tensor1d(start), true, `adamw_resume_${resume}`),
      );
      const step = (optimizer: AdamW, g: number[]) =>
        tf.tidy(() => optimizer.applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]));
      let optimizer = new AdamW({ learningRate: 0.1, weightDecay: 0.2, decays: () => true });
      step(optimizer, gradients[0]);
      step(optimizer, gradients[1]);
      if (resume) {
        const weights = await optimizer.getWeights();
        const saved = weights.map(({ name, tensor }) => ({ name, tensor: tensor.clone() }));
        // The iteration count comes as a new tensor; the moments are the optimizer's own.
        weights[0].tensor.dispose();
        expect(saved.map((w) => w.name)).toEqual([
          'iter',
          `${variable.name}/m`,
          `${variable.name}/v`,
        ]);
        optimizer.dispose();
        optimizer = new AdamW({ learningRate: 0.1, weightDecay: 0.2, decays: () => true });
        await optimizer.setWeights(saved);
        tf.dispose(saved.map((w) => w.tensor));
      }
      step(optimizer, gradients[2]);
      step(optimizer, gradients[3]);
      const values = Array.from(variable.dataSync());
      optimizer.dispose();
      variable.dispose();
      return values;
    };
    const before = tf.memory().numTensors;
    expect(await run(true)).toEqual(await run(false));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is a registered tfjs class whose config round-trips', () => {
    const registered = tf.serialization.SerializationMap.getMap().classNameMap.AdamW;
    expect(registered?.[0]).toBe(AdamW);
    const optimizer = new AdamW({ learningRate: 0.01, beta2: 0.98, weightDecay: 0.1 });
    const config = optimizer.getConfig();
    expect(config).toEqual({
      learningRate: 0.01,
      beta1: 0.9,
      beta2: 0.98,
      epsilon: 1e-8,
      weightDecay: 0.1,
    });
    const copy = AdamW.fromConfig(AdamW, config);
    expect(copy.getConfig()).toEqual(config);
    expect(copy.getClassName()).toBe('AdamW');
  });

  it('refuses a bad config, naming the field, the expectation and what was given', () => {
    expect(() => new AdamW({ learningRate: -1 })).toThrow(
      'AdamW: config.learningRate must be a finite number >= 0, got -1',
    );
    expect(() => new AdamW({ learningRate: 0.1, beta1: 1 })).toThrow(
      'AdamW: config.beta1 must be a number in [0, 1), got 1',
    );
    expect(() => new AdamW({ learningRate: 0.1, weightdecay: 0.1 } as never)).toThrow(
      "AdamW: unknown option 'weightdecay' in config",
    );
    expect(() => new AdamW({ learningRate: 0.1, decays: 'all' } as never)).toThrow(
      "AdamW: config.decays must be a function of the variable name, got 'all'",
    );
    const optimizer = new AdamW({ learningRate: 0.1 });
    expect(() => optimizer.applyGradients({ no_such_variable: tf.zeros([1]) })).toThrow(
      "AdamW.applyGradients: no tfjs variable is named 'no_such_variable'",
    );
  });
});
