import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { type TransformerBlockLayerArgs, transformerBlockLayer } from '../src/index.js';
import { recomputeInBackward } from '../src/recompute.js';
import { disposeVariablesAfterEachTest, expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

disposeVariablesAfterEachTest();

const [B, L, D] = [2, 12, 16];

/** Two blocks on x [B, L, D]. */
function twoBlocks(config: TransformerBlockLayerArgs, recompute: boolean): tfl.LayersModel {
  const input = tfl.input({ shape: [L, D] });
  const first = transformerBlockLayer({ ...config, recompute, name: 'first' });
  const second = transformerBlockLayer({ ...config, recompute, name: 'second' });
  return tfl.model({
    inputs: input,
    outputs: second.apply(first.apply(input)) as tfl.SymbolicTensor,
  });
}

const CONFIGS: { name: string; config: TransformerBlockLayerArgs }[] = [
  {
    name: 'EA-6, Post-LN, short conv 3, output gate, dropout 0.2',
    config: {
      attention: { kind: 'ea', order: 6 },
      causal: true,
      shortConv: 3,
      outputGate: true,
      dropout: 0.2,
    },
  },
  {
    name: 'EA-2 in groups of 4, Pre-LN, no dropout (the feed-forward backward runs by rows)',
    config: { attention: { kind: 'ea', order: 2, groupSize: 4 }, causal: true, norm: 'pre' },
  },
  {
    name: 'softmax, Pre-LN, dropout 0.2',
    config: {
      attention: { kind: 'softmax', numHeads: 4 },
      causal: true,
      norm: 'pre',
      dropout: 0.2,
    },
  },
];

describe.each(BACKENDS)('recomputeInBackward on %s', (backend) => {
  it('gives the gradients of x and the variables it reads, whole and by chunks of rows', async () => {
    await useBackend(backend);
    const w = tf.variable(randomNormal([4, 3], 1, 1));
    const x = randomNormal([2, 5, 4], 2, 1);
    const dy = randomNormal([2, 5, 3], 3, 1);
    // Position-wise, for inputs of any leading shape: row i of the output depends on row i of x.
    const run = (input: tf.Tensor) =>
      tf.reshape(tf.tanh(tf.matMul(tf.reshape(input, [-1, 4]), w)), [
        ...input.shape.slice(0, -1),
        3,
      ]);
    const reference = tf.grads((input: tf.Tensor) => tf.sum(tf.mul(run(input), dy)))([x, w]);
    for (const rows of [undefined, 3, 10, 64]) {
      const before = tf.memory().numTensors;
      const got = tf.grads((input: tf.Tensor) =>
        tf.sum(tf.mul(recomputeInBackward(run, input, [], [w], rows), dy)),
      )([x, w]);
      expectClose(got[0], reference[0].dataSync(), 1e-6, `dx, rows ${rows}`);
      expectClose(got[1], reference[1].dataSync(), 1e-6, `dw, rows ${rows}`);
      tf.dispose(got);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, dy, ...reference]);
  });
});

describe.each(BACKENDS)('recompute: true on %s', (backend) => {
  for (const { name, config } of CONFIGS) {
    it(`${name}: the same loss and gradients as storing every activation, with less memory held`, async () => {
      await useBackend(backend);
      const x = randomNormal([B, L, D], 1, 1);
      const weights = randomNormal([B, L, D], 2, 1);
      // Boolean, as tf.layers.embedding({maskZero: true}) passes it on.
      const mask = tf.tensor2d(
        [Array(L).fill(true), [false, false, ...Array(L - 2).fill(true)]],
        undefined,
        'bool',
      );
      const run = (model: tfl.LayersModel) => {
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        let held = 0;
        const { value, grads } = tf.variableGrads(() => {
          const output = model.apply(x, { training: true, seed: 7, mask }) as tf.Tensor;
          const loss = tf.sum(tf.mul(output, weights)) as tf.Scalar;
          held = tf.memory().numBytes;
          return loss;
        }, variables);
        // Gradients by weight name ('first/query/kernel', …), not by variable name.
        const byName = Object.fromEntries(
          model.trainableWeights.map((w) => [
            w.originalName,
            grads[(w.read() as tf.Variable).name],
          ]),
        );
        const loss = value.dataSync()[0];
        value.dispose();
        return { loss, grads: byName, held };
      };
      const storing = twoBlocks(config, false);
      const recomputing = twoBlocks(config, true);
      recomputing.setWeights(storing.getWeights());
      const plain = run(storing);
      const before = tf.memory().numTensors;
      const recomputed = run(recomputing);
      expect(recomputed.loss).toBeCloseTo(plain.loss, 3);
      expect(Object.keys(recomputed.grads).sort()).toEqual(Object.keys(plain.grads).sort());
      for (const [weightName, gradient] of Object.entries(plain.grads)) {
        expectClose(recomputed.grads[weightName], gradient.dataSync(), 1e-4, weightName);
      }
      // Reaching the loss, the recomputing model holds only the blocks' inputs.
      expect(recomputed.held).toBeLessThan(plain.held);
      tf.dispose(Object.values(recomputed.grads));
      expect(tf.memory().numTensors, 'nothing of the recomputation leaks').toBe(before);
      tf.dispose(Object.values(plain.grads));
      tf.dispose([x, weights, mask]);
    });
  }
});
