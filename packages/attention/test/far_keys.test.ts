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

/**
 * Causal calls scale each position by the keys it sees (the prefix), never by later ones: a near
 * key at the end must not push the far keys before it below float32's range.
 */
for (const backend of BACKENDS) {
  describe(`causal composite with keys that come nearer along the sequence on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('q = 0, k = [11, 11, 0]: the first queries average their far keys as float64 does', async () => {
      const q = tf.zeros([1, 3, 1]) as tf.Tensor3D;
      const k = tf.tensor3d([11, 11, 0], [1, 3, 1]);
      const v = tf.tensor3d([1, 2, 3], [1, 3, 1]);
      const y = elementwiseAttention(q, k, v, { order: 6, causal: true });
      expectClose(await y.data(), [1, 1.5, 3], 1e-6, 'y');
      tf.dispose([q, k, v, y]);
    });

    for (const withState of [false, true]) {
      it(`keys from |k| ≈ 24 down to 0: y, the final state and every gradient match the oracle (state: ${withState})`, async () => {
        const [batch, length, channels] = [2, 13, 3];
        const shape = [batch, length, channels];
        const order = 6;
        const terms = order + 1;
        const q = randomNormal(shape, 5, 1);
        // Position j sits at about 24 - 2j: the nearest key so far changes at almost every step.
        const ramp = tf.tidy(() =>
          tf.reshape(tf.sub(24, tf.mul(tf.range(0, length), 2)), [1, length, 1]),
        );
        const k = tf.tidy(() => tf.add(tf.mul(randomNormal(shape, 6), 0.3), ramp));
        ramp.dispose();
        const v = randomNormal(shape, 7, 1);
        const g = randomNormal(shape, 8, 1);
        const stateShape = [batch, terms, channels];
        const initialState = withState
          ? {
              s: randomNormal(stateShape, 9, 1e-3),
              z: tf.tidy(() => tf.abs(randomNormal(stateShape, 10, 1e-3))),
            }
          : undefined;
        const gFinal = randomNormal(stateShape, 11, 1);
        const options = { order, causal: true, returnFinalState: true as const };
        const run = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, s?: tf.Tensor, z?: tf.Tensor) =>
          elementwiseAttention(a, b, c, {
            ...options,
            ...(s && z ? { initialState: { s, z } } : {}),
          });
        const result = run(q, k, v, initialState?.s, initialState?.z);
        const inputs = initialState ? [q, k, v, initialState.s, initialState.z] : [q, k, v];
        const grads = tf.grads((...xs: tf.Tensor[]) => {
          const out = run(xs[0], xs[1], xs[2], xs[3], xs[4]);
          return tf.add(tf.sum(tf.mul(out.y, g)), tf.sum(tf.mul(out.finalState.s, gFinal)));
        })(inputs);
        const read = async (x: tf.Tensor) => Float64Array.from(await x.data());
        const [qv, kv, vv, gv, gs] = await Promise.all([q, k, v, g, gFinal].map(read));
        const dims = { batch, queryLength: length, keyLength: length, channels };
        const state = initialState
          ? { s: await read(initialState.s), z: await read(initialState.z) }
          : undefined;
        const oracleOptions = { order, causal: true, ...(state ? { initialState: state } : {}) };
        const expected = eaForward(
          { q: qv, k: kv, v: vv, dims },
          { ...oracleOptions, returnFinalState: true },
        );
        expectClose(await result.y.data(), expected.y, 1e-5, 'y');
        expectClose(
          await result.finalState.s.data(),
          expected.finalState?.s ?? [],
          1e-5,
          'final s',
        );
        const backward = eaBackward({ q: qv, k: kv, v: vv, dims }, gv, {
          ...oracleOptions,
          dFinalState: { s: gs, z: new Float64Array(gs.length) },
        });
        // ∂q cancels among the far keys as in the suite above (measured 1e-3 here).
        expectClose(await grads[0].data(), backward.dq, 1e-2, 'dq');
        expectClose(await grads[1].data(), backward.dk, 1e-4, 'dk');
        expectClose(await grads[2].data(), backward.dv, 1e-5, 'dv');
        if (initialState) {
          expectClose(await grads[3].data(), backward.dInitialState?.s ?? [], 1e-4, 'ds0');
          expectClose(await grads[4].data(), backward.dInitialState?.z ?? [], 1e-4, 'dz0');
        }
        tf.dispose([
          q,
          k,
          v,
          g,
          gFinal,
          result.y,
          result.finalState.s,
          result.finalState.z,
          ...grads,
        ]);
        if (initialState) tf.dispose([initialState.s, initialState.z]);
      });
    }
  });
}
