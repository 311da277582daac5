// tfjs-core's op gradients, which the package registers through tfjs-layers.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../src/tasks/losses.js';
import { relativeError, useBackend } from './helpers.js';

describe.each(['cpu', 'wasm'] as const)('crossEntropy on %s', (backend) => {
  it('values match float64, and the analytic gradient the op-by-op one', async () => {
    await useBackend(backend);
    const [rows, length, classes] = [3, 4, 7];
    const logits = tf.mul(tf.randomNormal([rows, length, classes], 0, 1, 'float32', 1), 3);
    const labels = tf.tensor2d(
      Array.from({ length: rows * length }, (_, i) => (i * 5) % classes),
      [rows, length],
      'int32',
    );
    const weights = tf.randomUniform([rows, length], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    // float64 reference: logsumexp(x) − x[label] per position.
    const x = logits.dataSync();
    const y = labels.dataSync();
    const expected = Float64Array.from({ length: rows * length }, (_, p) => {
      const row = Array.from({ length: classes }, (_, c) => x[p * classes + c]);
      const top = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - top), 0);
      return top + Math.log(sum) - row[y[p]];
    });
    const values = crossEntropy(logits, labels);
    expect(values.shape).toEqual([rows, length]);
    expect(relativeError(expected, values.dataSync())).toBeLessThan(1e-6);
    const byOps = (input: tf.Tensor) => {
      const oneHot = tf.cast(tf.oneHot(labels as tf.Tensor2D, classes), 'float32');
      return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(input)), -1));
    };
    const loss = (f: (input: tf.Tensor) => tf.Tensor) => (input: tf.Tensor) =>
      tf.sum(tf.mul(f(input), weights));
    const [analytic] = tf.grads(loss((input) => crossEntropy(input, labels)))([logits]);
    const [reference] = tf.grads(loss(byOps))([logits]);
    expect(relativeError(reference.dataSync(), analytic.dataSync())).toBeLessThan(1e-5);
    tf.dispose([values, analytic, reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels, weights]);
  });
});
