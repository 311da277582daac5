import { elementwiseAttention } from '@elementwise/attention';
import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { expectFinite, read } from '../compare.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';

/** Forward and `tf.grads` (w.r.t. q, k, v) of `Σ dy ⊙ y`, read back as arrays. */
async function forwardAndGrads(
  data: { q: Float32Array; k: Float32Array; v: Float32Array; mask?: Float32Array },
  shape: { batch: number; queries: number; keys: number; channels: number },
  options: { order: number | 'exact'; causal: boolean },
  dy: Float32Array,
): Promise<Float32Array[]> {
  const { batch, queries, keys, channels } = shape;
  const q = tf.tensor3d(data.q, [batch, queries, channels]);
  const k = tf.tensor3d(data.k, [batch, keys, channels]);
  const v = tf.tensor3d(data.v, [batch, keys, channels]);
  const g = tf.tensor3d(dy, [batch, queries, channels]);
  const mask = data.mask ? tf.tensor2d(data.mask, [batch, keys]) : undefined;
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    elementwiseAttention(a, b, c, { ...options, mask });
  const y = f(q, k, v);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(f(a, b, c), g)),
  )([q, k, v]);
  const values = await Promise.all([y, ...grads].map(read));
  tf.dispose([q, k, v, g, y, ...grads, mask].filter((x) => x != null));
  return values;
}

/** The zero-denominator rule of the contract and numerically hard inputs. */
export function numericsSuite(kit: Kit): void {
  describe('zero denominators and numerics', () => {
    for (const causal of [false, true]) {
      kit.test(
        `keys so large that e^{-k²} underflows give y = 0 and zero gradients, never NaN (causal: ${causal})`,
        async () => {
          const shape = { batch: 2, queries: 6, keys: 6, channels: 3 };
          const size = 2 * 6 * 3;
          const data = {
            q: randomNormal(size, 1),
            k: randomNormal(size, 2).map((x) => x + 30),
            v: randomNormal(size, 3),
          };
          const names = ['y', 'dq', 'dk', 'dv'];
          const results = await forwardAndGrads(
            data,
            shape,
            { order: 6, causal },
            randomNormal(size, 4),
          );
          results.forEach((values, i) => {
            expectFinite(values, names[i]);
            expect(
              values.every((x) => x === 0),
              `${names[i]} must be exactly 0`,
            ).toBe(true);
          });
        },
      );
    }

    for (const order of [6, 'exact'] as const) {
      for (const causal of [false, true]) {
        kit.test(
          `queries that see no unmasked key output 0 with zero gradients (order ${order}, causal: ${causal})`,
          async () => {
            // Batch element 1 masks every key; in batch element 0 the first keys are masked, so
            // causal queries before the first visible key see nothing either.
            const shape = { batch: 2, queries: 5, keys: 5, channels: 3 };
            const size = 2 * 5 * 3;
            const data = {
              q: randomNormal(size, 1),
              k: randomNormal(size, 2),
              v: randomNormal(size, 3, 1),
              mask: Float32Array.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0]),
            };
            const dy = randomNormal(size, 4);
            const [y, dq, dk, dv] = await forwardAndGrads(data, shape, { order, causal }, dy);
            const dims = { batch: 2, queryLength: 5, keyLength: 5, channels: 3 };
            const expected = eaForward({ ...data, dims }, { order, causal });
            const grads = eaBackward({ ...data, dims }, dy, { order, causal });
            const form = order === 'exact' ? 'exact' : 'forward';
            await kit.compare.expectClose(y, expected.y, form, 'y');
            expect(
              Array.from(y.subarray(15)).every((x) => x === 0),
              'y of the masked row',
            ).toBe(true);
            if (causal) {
              expect(
                Array.from(y.subarray(0, 6)).every((x) => x === 0),
                'y before a visible key',
              ).toBe(true);
            }
            const gradForm = order === 'exact' ? 'exact' : 'backward';
            await kit.compare.expectClose(dq, grads.dq, gradForm, 'dq');
            await kit.compare.expectClose(dk, grads.dk, gradForm, 'dk');
            await kit.compare.expectClose(dv, grads.dv, gradForm, 'dv');
          },
        );
      }
    }

    kit.test(
      'where e^{-k²} underflows for some keys only, each output is 0 or the oracle value, never NaN',
      async () => {
        // Channel 0's first two keys underflow in float32 (not in float64); the third does not.
        const data = {
          q: Float32Array.from([0.1, 0.2, 0.3]),
          k: Float32Array.from([20, 25, 0.3]),
          v: Float32Array.from([1, 2, 3]),
        };
        const q = tf.tensor3d(data.q, [1, 3, 1]);
        const k = tf.tensor3d(data.k, [1, 3, 1]);
        const v = tf.tensor3d(data.v, [1, 3, 1]);
        const y = elementwiseAttention(q, k, v, { order: 6, causal: true });
        const got = await read(y);
        tf.dispose([q, k, v, y]);
        const dims = { batch: 1, queryLength: 3, keyLength: 3, channels: 1 };
        const expected = eaForward({ ...data, dims }, { order: 6, causal: true }).y;
        expectFinite(got, 'y');
        got.forEach((value, i) => {
          if (value !== 0) {
            expect(Math.abs(value - expected[i]), `y[${i}] = ${value}`).toBeLessThanOrEqual(
              kit.options.tolerances.forward * Math.max(1, Math.abs(expected[i])),
            );
          }
        });
        expect(got[2], 'the query that sees a normal key').not.toBe(0);
      },
    );

    kit.test(
      'causal: no output depends on a later key, also where a near key follows far ones',
      async () => {
        // Keys come from |k| ≈ 24 down to 0: a kernel that scales a channel by its nearest key
        // over the whole sequence would push the far keys before it out of float32's range.
        const [length, channels] = [16, 4];
        const noise = randomNormal(length * channels, 5, 0.3);
        const data = {
          q: randomNormal(length * channels, 6),
          k: noise.map((x, i) => x + 24 - 1.6 * Math.floor(i / channels)),
          v: randomNormal(length * channels, 7),
        };
        const run = async (keys: number) => {
          const take = (x: Float32Array) =>
            tf.tensor3d(x.subarray(0, keys * channels), [1, keys, channels]);
          const [q, k, v] = [take(data.q), take(data.k), take(data.v)];
          const y = elementwiseAttention(q, k, v, { order: 6, causal: true });
          const values = await read(y);
          tf.dispose([q, k, v, y]);
          return values;
        };
        const full = await run(length);
        expectFinite(full, 'y');
        const dims = { batch: 1, queryLength: length, keyLength: length, channels };
        const expected = eaForward({ ...data, dims }, { order: 6, causal: true }).y;
        const tolerance = kit.options.tolerances.forward;
        full.forEach((value, i) => {
          if (value !== 0) {
            expect(Math.abs(value - expected[i]), `y[${i}] = ${value}`).toBeLessThanOrEqual(
              tolerance * Math.max(1, Math.abs(expected[i])),
            );
          }
        });
        for (const keys of [3, 8, 13]) {
          const prefix = await run(keys);
          prefix.forEach((value, i) => {
            expect(
              Math.abs(full[i] - value),
              `y[${i}] with ${length} keys (${full[i]}) and with the first ${keys} (${value})`,
            ).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(value)));
          });
        }
      },
    );

    for (const causal of [false, true]) {
      kit.test(
        `keys spread over |k| ≈ 0–30 give finite gradients, and y is 0 or the oracle's (causal: ${causal})`,
        async () => {
          // Many queries see only keys whose e^{-k²} is subnormal or zero in float32: their
          // denominators are tiny, and g / M must not overflow into ∞ · 0 = NaN.
          const shape = { batch: 1, queries: 64, keys: 64, channels: 8 };
          const size = 64 * 8;
          const data = {
            q: randomNormal(size, 1),
            k: randomNormal(size, 2, 15),
            v: randomNormal(size, 3),
          };
          const [y, dq, dk, dv] = await forwardAndGrads(
            data,
            shape,
            { order: 6, causal },
            randomNormal(size, 4, 1),
          );
          for (const [name, values] of [
            ['dq', dq],
            ['dk', dk],
            ['dv', dv],
          ] as const) {
            expectFinite(values, name);
          }
          expectFinite(y, 'y');
          const dims = { batch: 1, queryLength: 64, keyLength: 64, channels: 8 };
          const expected = eaForward({ ...data, dims }, { order: 6, causal }).y;
          y.forEach((value, i) => {
            if (value !== 0) {
              expect(Math.abs(value - expected[i]), `y[${i}] = ${value}`).toBeLessThanOrEqual(
                kit.options.tolerances.forward * 10 * Math.max(1, Math.abs(expected[i])),
              );
            }
          });
        },
      );
    }

    kit.test(
      "order 'exact' is shift-stabilised: keys far from 0 still give the weighted mean",
      async () => {
        const data = {
          q: randomNormal(8, 1).map((x) => x + 40),
          k: randomNormal(10, 2).map((x) => x + 41),
          v: randomNormal(10, 3),
        };
        const q = tf.tensor3d(data.q, [1, 4, 2]);
        const k = tf.tensor3d(data.k, [1, 5, 2]);
        const v = tf.tensor3d(data.v, [1, 5, 2]);
        const dy = randomNormal(8, 4);
        const g = tf.tensor3d(dy, [1, 4, 2]);
        const y = elementwiseAttention(q, k, v, { order: 'exact' });
        const [dq, dk, dv] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(elementwiseAttention(a, b, c, { order: 'exact' }), g)),
        )([q, k, v]);
        const dims = { batch: 1, queryLength: 4, keyLength: 5, channels: 2 };
        const expected = eaForward({ ...data, dims }, { order: 'exact' });
        const grads = eaBackward({ ...data, dims }, dy, { order: 'exact' });
        await kit.compare.expectClose(y, expected.y, 'exact', 'y');
        await kit.compare.expectClose(dq, grads.dq, 'exact', 'dq');
        await kit.compare.expectClose(dk, grads.dk, 'exact', 'dk');
        await kit.compare.expectClose(dv, grads.dv, 'exact', 'dv');
        tf.dispose([q, k, v, g, y, dq, dk, dv]);
      },
    );
  });
}
