/**
 * The composite keeps keys far from 0 at the oracle's value: each channel's features are scaled
 * by a power of two (src/composite/feature_scale.ts), so a denominator that would be subnormal in
 * float32 (keys at |k| ≈ 10–20) no longer leaves y imprecise and the gradients NaN.
 */
import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

for (const backend of BACKENDS) {
  describe(`composite with far keys on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const causal of [false, true]) {
      for (const shift of [11, 15, 20]) {
        it(`keys at |k| ≈ ${shift}: y and every gradient match the oracle (causal: ${causal})`, async () => {
          const shape = [2, 9, 3];
          const q = randomNormal(shape, 1, 1);
          const k = tf.tidy(() => tf.add(randomNormal(shape, 2), shift));
          const v = randomNormal(shape, 3, 1);
          const g = randomNormal(shape, 4, 1);
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order: 6, causal });
          const y = f(q, k, v);
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(f(a, b, c), g)),
          )([q, k, v]);
          const [qv, kv, vv, gv] = await Promise.all([q, k, v, g].map((x) => x.data()));
          const dims = { batch: 2, queryLength: 9, keyLength: 9, channels: 3 };
          const inputs = { q: qv, k: kv, v: vv, dims };
          // In float32, e^{-k²} alone is subnormal or zero for every one of these keys.
          const largest = Math.max(...Array.from(kv, (key) => Math.exp(-key * key)));
          expect(largest).toBeLessThan(2 ** -126);
          expectClose(await y.data(), eaForward(inputs, { order: 6, causal }).y, 1e-5, 'y');
          const expected = eaBackward(inputs, gv, { order: 6, causal });
          // ∂q = α Σ n a_n q^{n-1} (S_n - y Z_n): with every key near the same far k the differences
          // cancel to a fraction ~1/|k| per power, and float32 keeps fewer of their digits
          // (measured up to 7e-3).
          expectClose(await grads[0].data(), expected.dq, 1e-2, 'dq');
          expectClose(await grads[1].data(), expected.dk, 1e-5, 'dk');
          expectClose(await grads[2].data(), expected.dv, 1e-5, 'dv');
          tf.dispose([q, k, v, g, y, ...grads]);
        });
      }
    }
  });
}
