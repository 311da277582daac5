import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import { CASES, FORWARD_BOUND } from './cases.js';
import {
  describeCase,
  disposeCase,
  expectClose,
  makeCase,
  oracleForward,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';

describe.each(BACKENDS)(
  'elementwiseAttention forward on %s matches the float64 oracle',
  (backend) => {
    beforeAll(() => useBackend(backend));
    let before = 0;
    afterEach(() => {
      expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
    });

    it.each(CASES.map((c) => [describeCase(c), c] as const))('%s', (_, c) => {
      before = tf.memory().numTensors;
      const t = makeCase(c);
      const expected = oracleForward(c, t);
      const startTensors = tf.memory().numTensors;
      const options = { order: c.order, causal: c.causal, mask: t.mask, initialState: t.state };
      if (c.order === 'exact') {
        const y = elementwiseAttention(t.q, t.k, t.v, options);
        expectClose(y, expected.y, FORWARD_BOUND, 'y');
        y.dispose();
      } else {
        const { y, finalState } = elementwiseAttention(t.q, t.k, t.v, {
          ...options,
          returnFinalState: true,
        });
        expectClose(y, expected.y, FORWARD_BOUND, 'y');
        expectClose(finalState.s, expected.finalState!.s, FORWARD_BOUND, 'final s');
        expectClose(finalState.z, expected.finalState!.z, FORWARD_BOUND, 'final z');
        tf.dispose([y, finalState.s, finalState.z]);
      }
      expect(tf.memory().numTensors, 'op leaked tensors').toBe(startTensors);
      disposeCase(t);
    });

    it('accepts unbatched [L, D] inputs and returns [L, D]', () => {
      before = tf.memory().numTensors;
      const c = { batch: 1, queries: 5, keys: 5, channels: 3, order: 4, causal: true } as const;
      const t = makeCase(c);
      const y = tf.tidy(() =>
        elementwiseAttention(tf.squeeze(t.q, [0]), tf.squeeze(t.k, [0]), tf.squeeze(t.v, [0]), {
          order: 4,
          causal: true,
        }),
      );
      expect(y.shape).toEqual([5, 3]);
      expectClose(y, oracleForward(c, t).y, FORWARD_BOUND, 'y');
      tf.dispose(y);
      disposeCase(t);
    });
  },
);
