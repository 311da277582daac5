import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CharLM, createModel, type Forecaster } from '../src/index.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

/** Reads a tensor made outside any tidy and disposes it. */
function take(x: tf.Tensor): Float32Array {
  const values = x.dataSync() as Float32Array;
  x.dispose();
  return values;
}

describe('dropout outside train, through the public forward passes', () => {
  it('CharLM.logits: {training: true, seed} applies dropout; the same seed gives the same masks', () => {
    const model = createModel(tinyCharLM({ dropout: 0.3 }), { seed: 1 }) as CharLM;
    const ids = tf.tensor2d([Array.from(model.encode(TEXT.slice(0, 16)))], [1, 16], 'int32');
    const before = tf.memory().numTensors;
    const inference = take(model.logits(ids as tf.Tensor2D));
    const alsoInference = take(model.logits(ids as tf.Tensor2D, { training: false, seed: 4 }));
    const a = take(model.logits(ids as tf.Tensor2D, { training: true, seed: 7 }));
    const b = take(model.logits(ids as tf.Tensor2D, { training: true, seed: 7 }));
    const c = take(model.logits(ids as tf.Tensor2D, { training: true, seed: 8 }));
    const unseeded = take(model.logits(ids as tf.Tensor2D, { training: true }));
    expect(tf.memory().numTensors).toBe(before);
    expect(alsoInference).toEqual(inference);
    expect(a).toEqual(b);
    expect(a).not.toEqual(inference);
    expect(c).not.toEqual(a);
    expect(unseeded).not.toEqual(inference);
    ids.dispose();
    model.dispose();
  });

  it('without dropout in the config, a training pass equals inference', () => {
    const model = createModel(tinyCharLM({ dropout: 0 }), { seed: 1 }) as CharLM;
    const ids = tf.tensor2d([Array.from(model.encode(TEXT.slice(0, 8)))], [1, 8], 'int32');
    expect(take(model.logits(ids as tf.Tensor2D, { training: true, seed: 1 }))).toEqual(
      take(model.logits(ids as tf.Tensor2D)),
    );
    ids.dispose();
    model.dispose();
  });

  it('Forecaster.normalizedForecast and SequenceClassifier.logits take the same options', () => {
    const backbone = { dModel: 8, numHeads: 2, numLayers: 1, maxLength: 6, dropout: 0.5 };
    const attention = { kind: 'ea', order: 2 } as const;
    const forecaster = createModel(
      { task: 'forecaster', inputChannels: 1, horizon: 2, attention, ...backbone },
      { seed: 2 },
    ) as Forecaster;
    const classifier = createModel(
      { task: 'sequence-classifier', inputChannels: 1, numClasses: 3, attention, ...backbone },
      { seed: 2 },
    );
    const x = tf.tensor3d([[[0.1], [0.4], [0.2], [0.9], [0.3], [0.5]]]);
    const forecast = (options?: object) =>
      take(forecaster.normalizedForecast(x, undefined, options));
    expect(forecast({ training: true, seed: 3 })).toEqual(forecast({ training: true, seed: 3 }));
    expect(forecast({ training: true, seed: 3 })).not.toEqual(forecast());
    if (classifier.task !== 'sequence-classifier') throw new Error('expected a classifier');
    const logits = (options?: object) => take(classifier.logits(x, options));
    expect(logits({ training: true, seed: 3 })).toEqual(logits({ training: true, seed: 3 }));
    expect(logits({ training: true, seed: 3 })).not.toEqual(logits());
    x.dispose();
    forecaster.dispose();
    classifier.dispose();
  });

  it('names a bad option, its expectation and what was given', () => {
    const model = createModel(tinyCharLM(), { seed: 1 }) as CharLM;
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32') as tf.Tensor2D;
    expect(() => model.logits(ids, { training: 'yes' } as never)).toThrow(
      "CharLM.logits: options.training must be true or false, got 'yes'",
    );
    expect(() => model.logits(ids, { training: true, seed: Number.NaN })).toThrow(
      'CharLM.logits: options.seed must be a finite number, got NaN',
    );
    expect(() => model.logits(ids, { traning: true } as never)).toThrow(
      "CharLM.logits: unknown option 'traning'; expected one of training, seed",
    );
    ids.dispose();
    model.dispose();
  });
});
