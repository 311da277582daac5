import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import { eaBackward, eaForward, eaStep } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe } from 'vitest';
import { expectFinite, read } from '../compare.js';
import { randomState } from '../data.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';

/**
 * Large finite queries (attention README, "Large values"): `a_n q^n` overflows float32 for
 * |q| ≈ 1e7 at order 6, 1e5 at order 8 and 100 at order 20, yet y is a weighted mean of v and
 * must stay finite and equal to the oracle's. Implementations read such queries with every term
 * divided by q^t, which leaves y and every gradient unchanged.
 */

interface LargeCase {
  readonly order: number;
  /** q is N(0, 1) times this. */
  readonly scale: number;
  /**
   * q and k made positive, so 2qk >= 0. At order 20 with q·100, keys with 2qk ≈ -10 make T_20
   * alternate with terms ~1e5 times its value: float32 loses those digits whatever the
   * evaluation order (README "How good is the series"), which is not what this suite tests.
   */
  readonly positive: boolean;
}

const CASES: readonly LargeCase[] = [
  { order: 6, scale: 1e7, positive: false },
  { order: 8, scale: 1e5, positive: false },
  { order: 20, scale: 100, positive: true },
  { order: 6, scale: 1e37, positive: false },
  { order: 8, scale: 1e37, positive: false },
];

export function largeValuesSuite(kit: Kit): void {
  describe('large finite queries give the oracle answer, never NaN', () => {
    for (const { order, scale, positive } of CASES) {
      for (const causal of [false, true]) {
        kit.test(`q·${scale} at order ${order} (causal: ${causal})`, async () => {
          const [batch, length, channels] = [2, 7, 5];
          const size = batch * length * channels;
          const sign = (x: number) => (positive ? Math.abs(x) : x);
          const data = {
            q: randomNormal(size, 1, 1).map((x) => sign(x) * scale),
            k: randomNormal(size, 2).map(sign),
            v: randomNormal(size, 3, 1),
          };
          const dy = randomNormal(size, 4, 1);
          const shape: [number, number, number] = [batch, length, channels];
          const [q, k, v, g] = [data.q, data.k, data.v, dy].map((x) => tf.tensor3d(x, shape));
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order, causal });
          const y = f(q, k, v);
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(f(a, b, c), g)),
          )([q, k, v]);
          const [yValues, dq, dk, dv] = await Promise.all([y, ...grads].map(read));
          tf.dispose([q, k, v, g, y, ...grads]);
          const dims = { batch, queryLength: length, keyLength: length, channels };
          const expected = eaForward({ ...data, dims }, { order, causal });
          const expectedGrads = eaBackward({ ...data, dims }, dy, { order, causal });
          await kit.compare.expectClose(yValues, expected.y, 'forward', 'y');
          await kit.compare.expectClose(dk, expectedGrads.dk, 'backward', 'dk');
          await kit.compare.expectClose(dv, expectedGrads.dv, 'backward', 'dv');
          // ∂q falls like 1/q², into float32 subnormals for the largest scales: finite is the
          // contract there; elsewhere it is compared like every gradient.
          if (scale < 1e18) {
            await kit.compare.expectClose(dq, expectedGrads.dq, 'backward', 'dq');
          } else {
            expectFinite(dq, 'dq');
          }
        });
      }
    }

    for (const { order, scale, positive } of CASES) {
      kit.test(`one recurrent step with q·${scale} at order ${order}`, async () => {
        const [batch, channels] = [3, 5];
        const sign = (x: number) => (positive ? Math.abs(x) : x);
        const q = randomNormal(batch * channels, 1, 1).map((x) => sign(x) * scale);
        const k = randomNormal(batch * channels, 2).map(sign);
        const v = randomNormal(batch * channels, 3);
        const state = randomState(batch, order, channels, 4);
        const shape: [number, number] = [batch, channels];
        const stateShape = [batch, order + 1, channels];
        const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor2d(x, shape));
        const [st, zt] = [state.s, state.z].map((x) => tf.tensor(x, stateShape));
        const out = elementwiseAttentionStep(qt, kt, vt, { s: st, z: zt }, { order });
        const expected = eaStep(q, k, v, state, { order, batch, channels });
        await kit.compare.expectClose(out.y, expected.y, 'step', 'y');
        tf.dispose([qt, kt, vt, st, zt, out.y, out.state.s, out.state.z]);
      });
    }
  });
}
