import { eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/**
 * What the op adds around the kernels: unbatched inputs and variables. The kernel contract itself
 * (every form against the oracle, properties, numerics, leaks) is checked by
 * @elementwise/conformance, whose own tests run it on the composite path of every backend.
 */
describe.each(BACKENDS)('elementwiseAttention op on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('accepts unbatched [L, D] inputs and returns [L, D]', () => {
    const [q, k, v] = [1, 2, 3].map((seed) => randomNormal([5, 3], seed));
    const start = tf.memory().numTensors;
    const y = elementwiseAttention(q, k, v, { order: 4, causal: true });
    expect(y.shape).toEqual([5, 3]);
    const dims = { batch: 1, queryLength: 5, keyLength: 5, channels: 3 };
    const [qv, kv, vv] = [q, k, v].map((x) => x.dataSync());
    const expected = eaForward({ q: qv, k: kv, v: vv, dims }, { order: 4, causal: true });
    expectClose(y, expected.y, 1e-5, 'y');
    y.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v]);
  });

  it('tf.variableGrads through the op matches tf.grads', () => {
    const [q0, k, v] = [1, 2, 3].map((seed) => randomNormal([2, 6, 3], seed));
    const q = tf.variable(q0, true, `op_test_q_${backend}`);
    const start = tf.memory().numTensors;
    const loss = (x: tf.Tensor) =>
      tf.sum(elementwiseAttention(x, k, v, { order: 6, causal: true }));
    const { value, grads } = tf.variableGrads(() => loss(q) as tf.Scalar, [q]);
    const direct = tf.grad(loss)(q0);
    expectClose(grads[q.name], direct.dataSync(), 1e-7, 'variable gradient');
    tf.dispose([value, grads[q.name], direct]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, q0, k, v]);
  });
});
