import { eaForward, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/** Bound met at L = 65 536 causal, D = 16, order 6 (measured values: package README). */
const LONG_SEQUENCE_BOUND = 1e-5;

describe.each(BACKENDS)('numerics on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([true, false])(
    'keys so large that e^{-k²} underflows give y = 0 and zero gradients, never NaN (causal: %s)',
    (causal) => {
      const start = tf.memory().numTensors;
      const q = randomNormal([2, 6, 3], 1);
      const k = tf.tidy(() => tf.add(randomNormal([2, 6, 3], 2, 0.5), 30));
      const v = randomNormal([2, 6, 3], 3);
      const [y, ...grads] = tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          elementwiseAttention(a, b, c, { order: 6, causal });
        return [
          f(q, k, v),
          ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c)))([q, k, v]),
        ];
      });
      for (const t of [y, ...grads]) {
        expect(Array.from(t.dataSync()).every((x) => x === 0)).toBe(true);
      }
      tf.dispose([q, k, v, y, ...grads]);
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it('only the queries left without a visible key output 0; the rest match the oracle', () => {
    // Channel 0's first two keys underflow in float32; the third does not.
    const k = tf.tensor3d([[[20], [25], [0.3]]]);
    const q = tf.tensor3d([[[0.1], [0.2], [0.3]]]);
    const v = tf.tensor3d([[[1], [2], [3]]]);
    const y = elementwiseAttention(q, k, v, { order: 6, causal: true });
    const got = Array.from(y.dataSync());
    expect(got.slice(0, 2)).toEqual([0, 0]);
    expect(got[2]).toBeCloseTo(3, 5);
    tf.dispose([q, k, v, y]);
  });

  it("order 'exact' is shift-stabilised: far keys still give the right weighted mean", () => {
    const q = tf.tidy(() => tf.add(randomNormal([1, 4, 2], 1), 40));
    const k = tf.tidy(() => tf.add(randomNormal([1, 5, 2], 2), 41));
    const v = randomNormal([1, 5, 2], 3);
    const y = elementwiseAttention(q, k, v, { order: 'exact' });
    const expected = eaForward(
      {
        q: q.dataSync(),
        k: k.dataSync(),
        v: v.dataSync(),
        dims: { batch: 1, queryLength: 4, keyLength: 5, channels: 2 },
      },
      { order: 'exact' },
    );
    expectClose(y, expected.y, 1e-4, 'exact far from the origin');
    tf.dispose([q, k, v, y]);
  });

  it('causal prefix sums stay accurate at L = 65 536 (D = 16, order 6)', () => {
    const [batch, length, channels] = [1, 65_536, 16];
    const q = randomNormal([batch, length, channels], 7);
    const k = randomNormal([batch, length, channels], 8);
    const v = randomNormal([batch, length, channels], 9, 1);
    const y = elementwiseAttention(q, k, v, { order: 6, causal: true });
    const expected = eaForward(
      {
        q: q.dataSync(),
        k: k.dataSync(),
        v: v.dataSync(),
        dims: { batch, queryLength: length, keyLength: length, channels },
      },
      { order: 6, causal: true },
    );
    const error = relativeRmsError(expected.y, y.dataSync());
    console.info(
      `[${backend}] L=65536 causal D=16 order 6: relative RMS error ${error.toExponential(2)}`,
    );
    expect(error).toBeLessThanOrEqual(LONG_SEQUENCE_BOUND);
    tf.dispose([q, k, v, y]);
  });
});
