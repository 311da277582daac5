import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import { eaForward, eaStep, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { read } from '../compare.js';
import { randomState } from '../data.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';

/**
 * The rule for non-finite inputs (attention README, "Non-finite inputs"): a NaN or ±∞ in q, k, v
 * or the state at a visible position makes every output that depends on it non-finite, and leaves
 * every other output exactly what it would be; masked keys never reach an output. Every backend
 * must follow it, so a diverged value shows up where tfjs ops would show it, never silently.
 */

const [BATCH, LENGTH, CHANNELS, ORDER] = [2, 5, 3, 6];
const SIZE = BATCH * LENGTH * CHANNELS;

interface Poison {
  readonly name: string;
  readonly tensor: 'q' | 'k' | 'v';
  readonly value: number;
}

/** One poisoned entry per case, at batch 1, position 2, channel 1. */
const POISONS: readonly Poison[] = [
  { name: 'NaN key', tensor: 'k', value: Number.NaN },
  { name: '+∞ key', tensor: 'k', value: Number.POSITIVE_INFINITY },
  { name: 'NaN value', tensor: 'v', value: Number.NaN },
  { name: '-∞ value', tensor: 'v', value: Number.NEGATIVE_INFINITY },
  { name: 'NaN query', tensor: 'q', value: Number.NaN },
  { name: '+∞ query', tensor: 'q', value: Number.POSITIVE_INFINITY },
];
const [POISON_B, POISON_I, POISON_C] = [1, 2, 1];
const POISON_AT = (POISON_B * LENGTH + POISON_I) * CHANNELS + POISON_C;

/** Whether y[b, i, c] depends on the poisoned entry. */
function dependsOnPoison(poison: Poison, causal: boolean, b: number, i: number, c: number) {
  if (b !== POISON_B || c !== POISON_C) return false;
  if (poison.tensor === 'q') return i === POISON_I;
  return !causal || i >= POISON_I;
}

function cleanInputs() {
  return {
    q: randomNormal(SIZE, 1),
    k: randomNormal(SIZE, 2),
    v: randomNormal(SIZE, 3, 1),
  };
}

/**
 * The indices that break the rule: `finite` lists non-finite values outside the poisoned outputs
 * (they should be finite), `nonFinite` lists finite values inside them.
 */
function splitOutputs(
  got: Float32Array,
  poisoned: (index: number) => boolean,
): { finite: number[]; nonFinite: number[] } {
  const finite: number[] = [];
  const nonFinite: number[] = [];
  got.forEach((x, index) => {
    if (poisoned(index) && Number.isFinite(x)) nonFinite.push(index);
    if (!poisoned(index) && !Number.isFinite(x)) finite.push(index);
  });
  return { finite, nonFinite };
}

export function nonFiniteSuite(kit: Kit): void {
  describe('non-finite inputs propagate to exactly the outputs that depend on them', () => {
    for (const poison of POISONS) {
      for (const causal of [false, true]) {
        kit.test(`${poison.name} (order ${ORDER}, causal: ${causal})`, async () => {
          const clean = cleanInputs();
          const data = { ...clean, [poison.tensor]: Float32Array.from(clean[poison.tensor]) };
          data[poison.tensor][POISON_AT] = poison.value;
          const shape: [number, number, number] = [BATCH, LENGTH, CHANNELS];
          const [q, k, v, g] = [data.q, data.k, data.v, randomNormal(SIZE, 4)].map((x) =>
            tf.tensor3d(x, shape),
          );
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order: ORDER, causal });
          const y = f(q, k, v);
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(f(a, b, c), g)),
          )([q, k, v]);
          const [yValues, dqValues] = await Promise.all([read(y), read(grads[0])]);
          tf.dispose([q, k, v, g, y, ...grads]);

          const poisoned = (index: number) => {
            const c = index % CHANNELS;
            const i = Math.floor(index / CHANNELS) % LENGTH;
            const b = Math.floor(index / (CHANNELS * LENGTH));
            return dependsOnPoison(poison, causal, b, i, c);
          };
          for (const [what, values] of [
            ['y', yValues],
            ['dq', dqValues],
          ] as const) {
            const { finite, nonFinite } = splitOutputs(values, poisoned);
            // Listed as "index: value", so an unwritten (NaN) element shows as such.
            const show = (indices: number[]) => indices.map((at) => `${at}: ${values[at]}`);
            expect(show(nonFinite), `${what}: finite where the ${poison.name} reaches`).toEqual([]);
            expect(
              show(finite),
              `${what}: non-finite where the ${poison.name} does not reach`,
            ).toEqual([]);
          }
          // Outputs it does not reach are the oracle's on the clean inputs.
          const dims = { batch: BATCH, queryLength: LENGTH, keyLength: LENGTH, channels: CHANNELS };
          const expected = eaForward({ ...clean, dims }, { order: ORDER, causal }).y;
          const kept = [...yValues.keys()].filter((index) => !poisoned(index));
          const error = relativeRmsError(
            kept.map((index) => expected[index]),
            kept.map((index) => yValues[index]),
          );
          expect(error, 'relative RMS error of the outputs it does not reach').toBeLessThanOrEqual(
            kit.options.tolerances.forward,
          );
        });
      }
    }

    kit.test('masked keys holding NaN or ±∞ never reach an output or a gradient', async () => {
      const clean = cleanInputs();
      const mask = Float32Array.from({ length: BATCH * LENGTH }, (_, j) =>
        (j % LENGTH) % 2 === 0 ? 1 : 0,
      );
      const k = Float32Array.from(clean.k);
      const v = Float32Array.from(clean.v);
      for (let b = 0; b < BATCH; b++) {
        for (let j = 1; j < LENGTH; j += 2) {
          k[(b * LENGTH + j) * CHANNELS] = Number.NaN;
          k[(b * LENGTH + j) * CHANNELS + 1] = Number.POSITIVE_INFINITY;
          v[(b * LENGTH + j) * CHANNELS + 2] = Number.NaN;
        }
      }
      const shape: [number, number, number] = [BATCH, LENGTH, CHANNELS];
      const [qt, kt, vt, g] = [clean.q, k, v, randomNormal(SIZE, 4)].map((x) =>
        tf.tensor3d(x, shape),
      );
      const maskTensor = tf.tensor2d(mask, [BATCH, LENGTH]);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        elementwiseAttention(a, b, c, { order: ORDER, causal: true, mask: maskTensor });
      const y = f(qt, kt, vt);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(f(a, b, c), g)),
      )([qt, kt, vt]);
      const [yValues, dq, dk, dv] = await Promise.all([y, ...grads].map(read));
      tf.dispose([qt, kt, vt, g, maskTensor, y, ...grads]);
      const dims = { batch: BATCH, queryLength: LENGTH, keyLength: LENGTH, channels: CHANNELS };
      const expected = eaForward({ ...clean, mask, dims }, { order: ORDER, causal: true }).y;
      await kit.compare.expectClose(yValues, expected, 'forward', 'y');
      for (const [what, values] of [
        ['dq', dq],
        ['dk', dk],
        ['dv', dv],
      ] as const) {
        expect(values.every(Number.isFinite), `${what} is finite`).toBe(true);
      }
      for (let b = 0; b < BATCH; b++) {
        for (let j = 1; j < LENGTH; j += 2) {
          for (let c = 0; c < CHANNELS; c++) {
            const at = (b * LENGTH + j) * CHANNELS + c;
            expect([dk[at], dv[at]], `dk, dv of masked key (${b}, ${j}, ${c})`).toEqual([0, 0]);
          }
        }
      }
    });

    kit.test('a NaN in the recurrent state reaches only its own channel', async () => {
      const [batch, channels] = [2, 3];
      const [q, k, v] = [1, 2, 3].map((seed) => randomNormal(batch * channels, seed));
      const state = randomState(batch, ORDER, channels, 4);
      const s = Float32Array.from(state.s);
      // Batch 1, term 3, channel 2.
      s[(1 * (ORDER + 1) + 3) * channels + 2] = Number.NaN;
      const shape: [number, number] = [batch, channels];
      const stateShape = [batch, ORDER + 1, channels];
      const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor2d(x, shape));
      const [st, zt] = [s, state.z].map((x) => tf.tensor(x, stateShape));
      const out = elementwiseAttentionStep(qt, kt, vt, { s: st, z: zt }, { order: ORDER });
      const [y, sNext, zNext] = await Promise.all([out.y, out.state.s, out.state.z].map(read));
      tf.dispose([qt, kt, vt, st, zt, out.y, out.state.s, out.state.z]);
      const poisonedY = 1 * channels + 2;
      expect(Number.isFinite(y[poisonedY]), 'y of the poisoned channel').toBe(false);
      const expected = eaStep(q, k, v, state, { order: ORDER, batch, channels });
      y.forEach((value, index) => {
        if (index === poisonedY) return;
        expect(Math.abs(value - expected.y[index]), `y[${index}]`).toBeLessThanOrEqual(
          kit.options.tolerances.step * Math.max(1, Math.abs(expected.y[index])),
        );
      });
      expect(Number.isNaN(sNext[(1 * (ORDER + 1) + 3) * channels + 2]), "s' keeps the NaN").toBe(
        true,
      );
      const otherS = sNext.filter((_, index) => index !== (1 * (ORDER + 1) + 3) * channels + 2);
      expect(otherS.every(Number.isFinite), "the rest of s' is finite").toBe(true);
      expect(zNext.every(Number.isFinite), "z' is finite").toBe(true);
    });
  });
}
