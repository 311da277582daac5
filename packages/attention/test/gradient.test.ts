import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import { CASES, GRADIENT_BOUND } from './cases.js';
import {
  type Case,
  describeCase,
  disposeCase,
  expectClose,
  makeCase,
  oracleBackward,
  randomNormal,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';

/**
 * tf.grads through the op against the oracle's analytic backward (itself checked against finite
 * differences in @elementwise/math). The loss weights y and, for series orders, the final state
 * by random cotangents, so every gradient path is exercised.
 */
function checkGradients(c: Case) {
  const t = makeCase(c);
  const series = c.order !== 'exact';
  const dy = randomNormal(t.q.shape, 11);
  const moments = series ? (c.order as number) + 1 : 0;
  const dS = randomNormal([c.batch, moments, c.channels], 12);
  const dZ = randomNormal([c.batch, moments, c.channels], 13);
  const before = tf.memory().numTensors;

  const withState = t.state != null;
  const loss = (...args: tf.Tensor[]) => {
    const [q, k, v, s, z] = args;
    const initialState = withState ? { s, z } : undefined;
    if (!series) {
      return tf.sum(
        tf.mul(
          elementwiseAttention(q, k, v, { order: c.order, causal: c.causal, mask: t.mask }),
          dy,
        ),
      );
    }
    const out = elementwiseAttention(q, k, v, {
      order: c.order,
      causal: c.causal,
      mask: t.mask,
      initialState,
      returnFinalState: true,
    });
    return tf.addN([
      tf.sum(tf.mul(out.y, dy)),
      tf.sum(tf.mul(out.finalState.s, dS)),
      tf.sum(tf.mul(out.finalState.z, dZ)),
    ]);
  };
  const xs = [t.q, t.k, t.v, ...(withState ? [t.state!.s, t.state!.z] : [])];
  const grads = tf.grads(loss)(xs);
  expect(tf.memory().numTensors - before, 'tensors left besides the gradients').toBe(grads.length);

  const expected = oracleBackward(
    c,
    t,
    dy.dataSync(),
    series ? { s: dS.dataSync(), z: dZ.dataSync() } : undefined,
  );
  expectClose(grads[0], expected.dq, GRADIENT_BOUND, 'dq');
  expectClose(grads[1], expected.dk, GRADIENT_BOUND, 'dk');
  expectClose(grads[2], expected.dv, GRADIENT_BOUND, 'dv');
  if (withState) {
    expectClose(grads[3], expected.dInitialState!.s, GRADIENT_BOUND, 'ds0');
    expectClose(grads[4], expected.dInitialState!.z, GRADIENT_BOUND, 'dz0');
  }
  tf.dispose([...grads, dy, dS, dZ]);
  disposeCase(t);
}

describe.each(BACKENDS)('elementwiseAttention gradients on %s match the oracle', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(CASES.map((c) => [describeCase(c), c] as const))('%s', (_, c) => {
    const start = tf.memory().numTensors;
    checkGradients(c);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('tf.variableGrads through the op matches tf.grads', () => {
    const c: Case = { batch: 2, queries: 6, keys: 6, channels: 3, order: 6, causal: true };
    const t = makeCase(c);
    const q = tf.variable(t.q, true, 'grad_test_q');
    const start = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(elementwiseAttention(q, t.k, t.v, { order: 6, causal: true })) as tf.Scalar,
      [q],
    );
    const direct = tf.grad((x: tf.Tensor) =>
      tf.sum(elementwiseAttention(x, t.k, t.v, { order: 6, causal: true })),
    )(t.q);
    expectClose(grads[q.name], direct.dataSync(), 1e-7, 'variable gradient');
    tf.dispose([value, grads[q.name], direct]);
    expect(tf.memory().numTensors).toBe(start);
    q.dispose();
    disposeCase(t);
  });
});
