import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gelu } from '../src/gelu.js';
import { tokenEmbeddingLayer } from '../src/index.js';
import { layerNorm } from '../src/layer_norm.js';
import { gelu64, layerNorm64 } from './block_reference.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/** GELU differentiated by tfjs op by op: the reference for the analytic gradient. */
function geluByOps(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
}

function layerNormByOps(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, x.rank - 1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gain), bias);
}

describe.each(BACKENDS)('analytic gradients on %s', (backend) => {
  it('gelu: values match float64, gradients match the op-by-op derivative', async () => {
    await useBackend(backend);
    const x = randomNormal([3, 5, 16], 1, 2);
    const dy = randomNormal([3, 5, 16], 2, 1);
    const before = tf.memory().numTensors;
    const y = gelu(x);
    expectClose(y, Float64Array.from(x.dataSync(), gelu64), 1e-6, 'y');
    const [analytic] = tf.grads((input: tf.Tensor) => gelu(input))([x], dy);
    const [reference] = tf.grads((input: tf.Tensor) => geluByOps(input))([x], dy);
    expectClose(analytic, reference.dataSync(), 1e-5, 'dx');
    tf.dispose([y, analytic, reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy]);
  });

  it('layerNorm: values match float64, gradients of x, gain and bias match the op-by-op ones', async () => {
    await useBackend(backend);
    const x = randomNormal([3, 5, 16], 3, 2);
    const gain = randomNormal([16], 4, 1);
    const bias = randomNormal([16], 5, 1);
    const dy = randomNormal([3, 5, 16], 6, 1);
    const before = tf.memory().numTensors;
    const y = layerNorm(x, gain, bias, 1e-5);
    const reference64 = layerNorm64(
      x.dataSync(),
      gain.dataSync() as Float32Array,
      bias.dataSync() as Float32Array,
      16,
    );
    expectClose(y, reference64, 1e-5, 'y');
    const analytic = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      layerNorm(a, g, b, 1e-5),
    )([x, gain, bias], dy);
    const reference = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      layerNormByOps(a, g, b),
    )([x, gain, bias], dy);
    ['dx', 'dgain', 'dbias'].forEach((name, i) => {
      expectClose(analytic[i], reference[i].dataSync(), 1e-5, name);
    });
    tf.dispose([y, ...analytic, ...reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, gain, bias, dy]);
  });

  it("tokenEmbeddingLayer: the table's gradient is oneHot(ids)ᵀ · dy, in float64", async () => {
    await useBackend(backend);
    const layer = tokenEmbeddingLayer({ vocabularySize: 6, outputDim: 4 });
    const ids = tf.tensor2d(
      [
        [0, 2, 2, 5],
        [1, 2, 5, 3],
      ],
      [2, 4],
      'int32',
    );
    const dy = randomNormal([2, 4, 4], 7, 1);
    tf.dispose(layer.apply(ids) as tf.Tensor);
    const table = layer.trainableWeights[0].read() as tf.Variable;
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(ids) as tf.Tensor, dy)) as tf.Scalar,
      [table],
    );
    const expected = new Float64Array(6 * 4);
    const flatIds = ids.dataSync();
    const flatDy = dy.dataSync();
    flatIds.forEach((id, row) => {
      for (let c = 0; c < 4; c++) expected[id * 4 + c] += flatDy[row * 4 + c];
    });
    expectClose(grads[table.name], expected, 1e-6, 'd table');
    tf.dispose([value, grads[table.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, dy]);
  });
});
