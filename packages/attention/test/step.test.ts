import { eaStep } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention, elementwiseAttentionStep, zeroState } from '../src/index.js';
import { GRADIENT_BOUND } from './cases.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

describe.each(BACKENDS)('elementwiseAttentionStep on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([0, 2, 6, 8])('matches the oracle step at order %i, from a non-zero state', (order) => {
    const [batch, channels] = [3, 5];
    const q = randomNormal([batch, channels], 1);
    const k = randomNormal([batch, channels], 2);
    const v = randomNormal([batch, channels], 3, 1);
    const s = randomNormal([batch, order + 1, channels], 4, 0.3);
    const z = tf.tidy(() => tf.abs(randomNormal([batch, order + 1, channels], 5, 0.3)));
    const start = tf.memory().numTensors;
    const { y, state } = elementwiseAttentionStep(q, k, v, { s, z }, { order });
    const expected = eaStep(
      q.dataSync(),
      k.dataSync(),
      v.dataSync(),
      { s: s.dataSync(), z: z.dataSync() },
      { order, batch, channels },
    );
    expectClose(y, expected.y, 1e-6, 'y');
    expectClose(state.s, expected.state.s, 1e-6, "s'");
    expectClose(state.z, expected.state.z, 1e-6, "z'");
    tf.dispose([y, state.s, state.z]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, s, z]);
  });

  it('a loop of steps equals the causal parallel form, and leaks nothing over 1000 steps', () => {
    const [batch, length, channels, order] = [2, 1000, 4, 6];
    const q = randomNormal([batch, length, channels], 1);
    const k = randomNormal([batch, length, channels], 2);
    const v = randomNormal([batch, length, channels], 3, 1);
    const parallel = elementwiseAttention(q, k, v, { order, causal: true });
    const start = tf.memory().numTensors;
    let state = zeroState(order, batch, channels);
    const outputs: tf.Tensor[] = [];
    for (let i = 0; i < length; i++) {
      const next = tf.tidy(() => {
        const at = (x: tf.Tensor) => tf.squeeze(tf.slice(x, [0, i, 0], [batch, 1, channels]), [1]);
        return elementwiseAttentionStep(at(q), at(k), at(v), state, { order });
      });
      tf.dispose([state.s, state.z]);
      state = next.state;
      outputs.push(next.y);
    }
    const recurrent = tf.stack(outputs, 1);
    tf.dispose(outputs);
    tf.dispose([state.s, state.z]);
    expect(tf.memory().numTensors - start, 'only the stacked outputs remain').toBe(1);
    expectClose(recurrent, parallel.dataSync(), 1e-5, 'recurrent vs parallel');
    tf.dispose([q, k, v, parallel, recurrent]);
  });

  it('gradients of a step equal those of the causal form with the same initial state', () => {
    const [batch, channels, order] = [2, 3, 4];
    const q = randomNormal([batch, channels], 1);
    const k = randomNormal([batch, channels], 2);
    const v = randomNormal([batch, channels], 3, 1);
    const s = randomNormal([batch, order + 1, channels], 4, 0.3);
    const z = tf.tidy(() => tf.abs(randomNormal([batch, order + 1, channels], 5, 0.3)));
    const cy = randomNormal([batch, channels], 6);
    const cs = randomNormal([batch, order + 1, channels], 7);
    const start = tf.memory().numTensors;
    const viaStep = tf.grads((...x: tf.Tensor[]) => {
      const out = elementwiseAttentionStep(x[0], x[1], x[2], { s: x[3], z: x[4] }, { order });
      return tf.add(tf.sum(tf.mul(out.y, cy)), tf.sum(tf.mul(out.state.s, cs)));
    })([q, k, v, s, z]);
    const viaParallel = tf.grads((...x: tf.Tensor[]) => {
      const seq = (t: tf.Tensor) => tf.expandDims(t, 1);
      const out = elementwiseAttention(seq(x[0]), seq(x[1]), seq(x[2]), {
        order,
        causal: true,
        initialState: { s: x[3], z: x[4] },
        returnFinalState: true,
      });
      return tf.add(
        tf.sum(tf.mul(tf.squeeze(out.y, [1]), cy)),
        tf.sum(tf.mul(out.finalState.s, cs)),
      );
    })([q, k, v, s, z]);
    viaStep.forEach((g, i) => {
      expect(g.shape).toEqual(viaParallel[i].shape);
      expectClose(g, viaParallel[i].dataSync(), GRADIENT_BOUND, `gradient ${i}`);
    });
    tf.dispose([...viaStep, ...viaParallel]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, s, z, cy, cs]);
  });
});
