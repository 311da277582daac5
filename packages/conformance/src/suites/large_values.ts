import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import { eaBackward, eaForward, eaStep, eaStepBackward, type Order } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, type TestContext } from 'vitest';
import { expectFinite, read } from '../compare.js';
import { momentsOf, randomState } from '../data.js';
import type { Kit } from '../kit.js';
import { randomGenerator, randomMask, randomNormal } from '../random.js';
import type { ToleranceForm } from '../tolerances.js';

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

  hugeValuesSuite(kit);
}

/**
 * Huge values v, up to the float32 maximum (attention README, "Large values"). y is a weighted
 * mean of v, so it is finite; the moments `S_n = Σ_j f_n(k_j) v_j` are not, where they are summed
 * in float32. The op scales each channel's v and initial state by a power of two before the
 * kernel and scales y and the final state back, so every backend returns the oracle's y and
 * gradients. The cases are chosen so that every reference value is a finite float32 (checked),
 * and the unscaled float32 sums overflow: their channel sums exceed 3.4e38.
 */

interface HugeCase {
  readonly order: Order;
  readonly causal: boolean;
  readonly keys: number;
  /** |v| is drawn uniformly from [magnitude / 3, magnitude]. */
  readonly magnitude: number;
  /** Every value positive (the sums cannot cancel), or random signs. */
  readonly positive: boolean;
  readonly masked?: boolean;
  /** An initial state whose s holds huge values too (series orders only). */
  readonly withState?: boolean;
}

const HUGE_CASES: readonly HugeCase[] = [
  { order: 6, causal: false, keys: 9, magnitude: 3e38, positive: true },
  { order: 6, causal: true, keys: 9, magnitude: 2e38, positive: false },
  { order: 2, causal: true, keys: 48, magnitude: 3e37, positive: true, masked: true },
  { order: 8, causal: false, keys: 48, magnitude: 3e37, positive: false, masked: true },
  { order: 6, causal: true, keys: 7, magnitude: 1.5e38, positive: true, withState: true },
  { order: 'exact', causal: false, keys: 9, magnitude: 3e38, positive: true },
];

const FLOAT32_MAX = 3.4028234663852886e38;

/** Values with |v| in [magnitude / 3, magnitude], rounded to float32 (never to ±∞). */
function hugeValues(size: number, seed: number, magnitude: number, positive: boolean) {
  const next = randomGenerator(seed);
  return Float32Array.from({ length: size }, () => {
    const abs = (magnitude / 3) * (1 + 2 * next());
    return positive || next() < 0.5 ? abs : -abs;
  });
}

/**
 * A state as a prefix of two tokens with huge values leaves it (`s = Σ f_n(k) v`,
 * `z = Σ f_n(k)`): s then holds values up to about twice the largest v, a real state's
 * proportions.
 */
function hugeState(
  batch: number,
  order: number,
  channels: number,
  magnitude: number,
): { s: Float32Array; z: Float32Array } {
  const dims = { batch, queryLength: 2, keyLength: 2, channels };
  const size = batch * 2 * channels;
  const prefix = { q: randomNormal(size, 11), k: randomNormal(size, 12), dims };
  const v = hugeValues(size, 13, magnitude, true);
  const { finalState } = eaForward(
    { ...prefix, v },
    { order, causal: true, returnFinalState: true },
  );
  return { s: Float32Array.from(finalState!.s), z: Float32Array.from(finalState!.z) };
}

/** Compares like `expectClose`, after checking that the reference is a finite float32. */
async function expectHugeClose(
  kit: Kit,
  got: tf.Tensor | ArrayLike<number>,
  reference: ArrayLike<number>,
  form: ToleranceForm,
  what: string,
): Promise<void> {
  const largest = Math.max(...Array.from(reference, Math.abs));
  expect(largest, `${what}: the case's reference must fit float32`).toBeLessThan(FLOAT32_MAX);
  await kit.compare.expectClose(got, reference, form, what);
}

function hugeValuesSuite(kit: Kit): void {
  describe('huge values v, up to the float32 maximum, give the oracle answer, never NaN', () => {
    for (const c of HUGE_CASES) {
      const flags = [c.causal && 'causal', c.masked && 'mask', c.withState && 'state']
        .filter(Boolean)
        .map((flag) => ` ${flag}`)
        .join('');
      kit.test(
        `|v| up to ${c.magnitude} at order ${c.order}, L = ${c.keys}${flags}`,
        async (context) => {
          skipFloat16(kit, context);
          const [batch, channels] = [2, 5];
          const { keys, order, causal } = c;
          const size = batch * keys * channels;
          const data = {
            q: randomNormal(size, 21, 1),
            k: randomNormal(size, 22),
            v: hugeValues(size, 23, c.magnitude, c.positive),
            mask: c.masked ? randomMask(batch, keys, 24) : undefined,
          };
          const moments = momentsOf(order);
          const initialState =
            c.withState && order !== 'exact'
              ? hugeState(batch, order, channels, c.magnitude)
              : undefined;
          const dy = randomNormal(size, 25, 1);
          const shape: [number, number, number] = [batch, keys, channels];
          const [q, k, v, g] = [data.q, data.k, data.v, dy].map((x) => tf.tensor3d(x, shape));
          const mask = data.mask ? tf.tensor2d(data.mask, [batch, keys]) : undefined;
          const stateShape: [number, number, number] = [batch, moments, channels];
          const s0 = initialState ? tf.tensor3d(initialState.s, stateShape) : undefined;
          const z0 = initialState ? tf.tensor3d(initialState.z, stateShape) : undefined;
          // The state is an argument of the loss only where the case has one.
          const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, s?: tf.Tensor, z?: tf.Tensor) =>
            elementwiseAttention(a, b, d, {
              order,
              causal,
              mask,
              initialState: s && z ? { s, z } : undefined,
            });
          const loss = (...x: tf.Tensor[]) => tf.sum(tf.mul(f(x[0], x[1], x[2], x[3], x[4]), g));
          const y = f(q, k, v, s0, z0);
          const grads = tf.grads(loss)(s0 && z0 ? [q, k, v, s0, z0] : [q, k, v]);
          const [yValues, dq, dk, dv, ds, dz] = await Promise.all([y, ...grads].map(read));
          tf.dispose([q, k, v, g, mask, s0, z0, y, ...grads].filter((x) => x != null));

          const dims = { batch, queryLength: keys, keyLength: keys, channels };
          const inputs = { ...data, dims };
          const options = { order, causal, initialState };
          const expected = eaForward(inputs, options).y;
          const expectedGrads = eaBackward(inputs, dy, options);
          const form = order === 'exact' ? 'exact' : 'forward';
          await expectHugeClose(kit, yValues, expected, form, 'y');
          const backward = order === 'exact' ? 'exact' : 'backward';
          await expectHugeClose(kit, dq, expectedGrads.dq, backward, 'dq');
          await expectHugeClose(kit, dk, expectedGrads.dk, backward, 'dk');
          await expectHugeClose(kit, dv, expectedGrads.dv, backward, 'dv');
          if (initialState) {
            await expectHugeClose(kit, ds, expectedGrads.dInitialState!.s, backward, 'ds0');
            await expectHugeClose(kit, dz, expectedGrads.dInitialState!.z, backward, 'dz0');
          }
        },
      );
    }

    kit.test('one recurrent step with |v| and the state up to 1e38', async (context) => {
      skipFloat16(kit, context);
      const [batch, channels, order] = [3, 5, 6];
      const size = batch * channels;
      const q = randomNormal(size, 31, 1);
      const k = randomNormal(size, 32);
      const v = hugeValues(size, 33, 1e38, false);
      const state = hugeState(batch, order, channels, 1e38);
      const dy = randomNormal(size, 34, 1);
      const stateShape = [batch, order + 1, channels];
      const [qt, kt, vt, g] = [q, k, v, dy].map((x) => tf.tensor2d(x, [batch, channels]));
      const [st, zt] = [state.s, state.z].map((x) => tf.tensor(x, stateShape));
      const out = elementwiseAttentionStep(qt, kt, vt, { s: st, z: zt }, { order });
      const grads = tf.grads((...x: tf.Tensor[]) => {
        const step = elementwiseAttentionStep(x[0], x[1], x[2], { s: x[3], z: x[4] }, { order });
        return tf.sum(tf.mul(step.y, g));
      })([qt, kt, vt, st, zt]);
      const [y, s, z, dq, dk, dv, ds, dz] = await Promise.all(
        [out.y, out.state.s, out.state.z, ...grads].map(read),
      );
      tf.dispose([qt, kt, vt, g, st, zt, out.y, out.state.s, out.state.z, ...grads]);
      const options = { order, batch, channels };
      const expected = eaStep(q, k, v, state, options);
      const expectedGrads = eaStepBackward(q, k, v, state, dy, options);
      await expectHugeClose(kit, y, expected.y, 'step', 'y');
      await expectHugeClose(kit, s, expected.state.s, 'step', "state s'");
      await expectHugeClose(kit, z, expected.state.z, 'step', "state z'");
      await expectHugeClose(kit, dq, expectedGrads.dq, 'step', 'dq');
      await expectHugeClose(kit, dk, expectedGrads.dk, 'step', 'dk');
      await expectHugeClose(kit, dv, expectedGrads.dv, 'step', 'dv');
      await expectHugeClose(kit, ds, expectedGrads.dState.s, 'step', 'ds');
      await expectHugeClose(kit, dz, expectedGrads.dState.z, 'step', 'dz');
    });
  });
}

/** float16 storage tops out at 65 504: such a backend cannot hold these values at all. */
function skipFloat16(kit: Kit, context: TestContext): void {
  if (kit.options.precision === 'float16') {
    context.skip('huge values do not fit float16 storage');
  }
}
