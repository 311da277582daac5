/**
 * The op scales huge values v (and the initial state s) of each batch element and channel by a
 * power of two 2^-E around the kernel, and y and the final state back (src/value_scale.ts):
 * E = 0 for ordinary values, results and gradients equal to the oracle for values near the
 * float32 maximum, and nothing leaked.
 */
import { eaBackward, eaForward, eaStep, eaStepBackward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardGradientMap } from '../src/backward.js';
import { compositeForward } from '../src/composite/kernels.js';
import type { ForwardTensors } from '../src/contract_tensors.js';
import { elementwiseAttention, elementwiseAttentionStep } from '../src/index.js';
import { runValueScaled, valuesFitUnscaled } from '../src/value_scale.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

const [BATCH, LENGTH, CHANNELS, ORDER] = [2, 9, 5, 6];
const SHAPE = [BATCH, LENGTH, CHANNELS];
const STATE_SHAPE = [BATCH, ORDER + 1, CHANNELS];

/** Values in [magnitude / 10, magnitude], all positive so that their float32 sums overflow. */
function hugeValues(shape: number[], magnitude: number): tf.Tensor {
  return tf.tidy(() => {
    const unit = tf.add(tf.minimum(tf.abs(randomNormal(shape, 7, 1)), 3), 1 / 3);
    return tf.mul(unit, magnitude / (3 + 1 / 3));
  });
}

const arrays = (...x: tf.Tensor[]) => x.map((t) => t.dataSync() as Float32Array);

/**
 * A state as a real prefix of two tokens leaves it (z = Σ f(k) > 0, s = Σ f(k) v), here with
 * huge values v: an arbitrary z could make a denominator cancel, which is not what this tests.
 */
function hugeState(magnitude: number): { s: tf.Tensor; z: tf.Tensor } {
  const prefixShape = [BATCH, 2, CHANNELS];
  const [q, k, v] = [randomNormal(prefixShape, 11), randomNormal(prefixShape, 12)].concat(
    hugeValues(prefixShape, magnitude),
  );
  const [qv, kv, vv] = arrays(q, k, v);
  tf.dispose([q, k, v]);
  const dims = { batch: BATCH, queryLength: 2, keyLength: 2, channels: CHANNELS };
  const { finalState } = eaForward(
    { q: qv, k: kv, v: vv, dims },
    { order: ORDER, causal: true, returnFinalState: true },
  );
  const [s, z] = [finalState!.s, finalState!.z].map((x) => Float32Array.from(x));
  return { s: tf.tensor(s, STATE_SHAPE), z: tf.tensor(z, STATE_SHAPE) };
}

describe.each(BACKENDS)('huge values v on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('E = 0 is known on the host for ordinary values, and not for huge or non-finite ones', () => {
    const v = randomNormal(SHAPE, 1, 1);
    const s = randomNormal(STATE_SHAPE, 2, 1);
    const mask = tf.ones([BATCH, LENGTH]);
    const huge = hugeValues(SHAPE, 3e38);
    const hugeState = tf.mul(s, 1e30);
    const withNaN = tf.tidy(() => tf.concat([tf.fill([BATCH, 1, CHANNELS], Number.NaN), v], 1));
    // Masked keys do not count, whatever they hold: here every key but the first is masked.
    const firstOnly = tf.tidy(() =>
      tf.concat([tf.ones([BATCH, 1]), tf.zeros([BATCH, LENGTH - 1])], 1),
    );
    const hugeAfterFirst = tf.tidy(() =>
      tf.concat([tf.slice(v, [0, 0, 0], [BATCH, 1, CHANNELS]), tf.slice(huge, [0, 1, 0])], 1),
    );
    const start = tf.memory().numTensors;
    expect(valuesFitUnscaled({ v, mask, s })).toBe(true);
    expect(valuesFitUnscaled({ v: huge, mask, s })).toBe(false);
    expect(valuesFitUnscaled({ v, mask, s: hugeState })).toBe(false);
    expect(valuesFitUnscaled({ v: withNaN, mask: null, s })).toBe(false);
    expect(valuesFitUnscaled({ v: hugeAfterFirst, mask: firstOnly, s })).toBe(true);
    expect(valuesFitUnscaled({ v: hugeAfterFirst, mask, s })).toBe(false);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([v, s, mask, huge, hugeState, withNaN, firstOnly, hugeAfterFirst]);
  });

  it('the scaled path (what GPU backends always run) is bit-identical to the kernel for ordinary values', () => {
    const [q, k, v, g] = [1, 2, 3, 4].map((seed) => randomNormal(SHAPE, seed, 1));
    const s0 = randomNormal(STATE_SHAPE, 5, 1);
    const z0 = tf.tidy(() => tf.add(tf.abs(randomNormal(STATE_SHAPE, 6, 1)), 0.5));
    const [gS, gZ] = [7, 8].map((seed) => randomNormal(STATE_SHAPE, seed, 1));
    const mask = tf.ones([BATCH, LENGTH]);
    const inputs = (x: tf.Tensor[]): ForwardTensors => ({
      q: x[0] as tf.Tensor3D,
      k: x[1] as tf.Tensor3D,
      v: x[2] as tf.Tensor3D,
      mask: mask as tf.Tensor2D,
      initialS: x[3] as tf.Tensor3D,
      initialZ: x[4] as tf.Tensor3D,
    });
    const scaled = (...x: tf.Tensor[]) =>
      runValueScaled({
        inputs: { ...inputs(x) },
        names: { v: 'v', s: 'initialS', mask: 'mask' },
        linearGradients: ['q', 'k', 'initialZ'],
        forward: (y) => compositeForward(y as unknown as ForwardTensors, ORDER, true),
        backward: (y, dys) =>
          forwardGradientMap(y as unknown as ForwardTensors, dys, { order: ORDER, causal: true }),
      });
    const direct = (...x: tf.Tensor[]) => compositeForward(inputs(x), ORDER, true);
    const loss =
      (f: (...x: tf.Tensor[]) => tf.Tensor[]) =>
      (...x: tf.Tensor[]) => {
        const [y, s, z] = f(...x);
        return tf.addN([tf.sum(tf.mul(y, g)), tf.sum(tf.mul(s, gS)), tf.sum(tf.mul(z, gZ))]);
      };
    const args = [q, k, v, s0, z0];
    const start = tf.memory().numTensors;
    const outputs = scaled(...args);
    const expected = direct(...args);
    for (const [i, name] of ['y', 'final s', 'final z'].entries()) {
      expect(outputs[i].dataSync(), name).toEqual(expected[i].dataSync());
    }
    // The analytic backward of the composite, as the kernel's gradient, for the direct call.
    const gradients = tf.grads(loss(scaled))(args);
    const expectedGradients = tf.tidy(() => {
      const map = forwardGradientMap(inputs(args), [g, gS, gZ], { order: ORDER, causal: true });
      return [map.q, map.k, map.v, map.initialS, map.initialZ];
    });
    for (const [i, name] of ['dq', 'dk', 'dv', 'ds0', 'dz0'].entries()) {
      expect(gradients[i].dataSync(), name).toEqual(expectedGradients[i].dataSync());
    }
    tf.dispose([...outputs, ...expected, ...gradients, ...expectedGradients]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, g, s0, z0, gS, gZ, mask]);
  });

  for (const causal of [false, true]) {
    // Both overflow float32 sums unscaled: 64 keys up to 3e37, or 9 near the float32 maximum.
    for (const [magnitude, length] of [
      [3e37, 64],
      [3e38, LENGTH],
    ]) {
      it(`|v| up to ${magnitude}, L = ${length} (causal: ${causal}): y and every gradient match the oracle, no leak`, () => {
        const shape = [BATCH, length, CHANNELS];
        const [q, k, g] = [1, 2, 4].map((seed) => randomNormal(shape, seed, 1));
        const v = hugeValues(shape, magnitude);
        const start = tf.memory().numTensors;
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          elementwiseAttention(a, b, c, { order: ORDER, causal });
        const y = f(q, k, v);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(f(a, b, c), g)),
        )([q, k, v]);
        const [qv, kv, vv, gv] = arrays(q, k, v, g);
        const dims = { batch: BATCH, queryLength: length, keyLength: length, channels: CHANNELS };
        const inputs = { q: qv, k: kv, v: vv, dims };
        expectClose(y, eaForward(inputs, { order: ORDER, causal }).y, 1e-5, 'y');
        const expected = eaBackward(inputs, gv, { order: ORDER, causal });
        expectClose(grads[0], expected.dq, 1e-5, 'dq');
        expectClose(grads[1], expected.dk, 1e-5, 'dk');
        expectClose(grads[2], expected.dv, 1e-5, 'dv');
        tf.dispose([y, ...grads]);
        expect(tf.memory().numTensors).toBe(start);
        tf.dispose([q, k, v, g]);
      });
    }
  }

  it('gradients through a huge initial state and the final state match the oracle', () => {
    // Small cotangents keep dk (proportional to v) below the float32 maximum, where it is compared.
    const [q, k] = [1, 2].map((seed) => randomNormal(SHAPE, seed, 1));
    const g = randomNormal(SHAPE, 4, 0.01);
    const v = hugeValues(SHAPE, 1e38);
    const { s: s0, z: z0 } = hugeState(1e38);
    const [gS, gZ] = [5, 6].map((seed) => randomNormal(STATE_SHAPE, seed, 0.01));
    const start = tf.memory().numTensors;
    const loss = (...x: tf.Tensor[]) => {
      const { y, finalState } = elementwiseAttention(x[0], x[1], x[2], {
        order: ORDER,
        causal: true,
        initialState: { s: x[3], z: x[4] },
        returnFinalState: true,
      });
      return tf.addN([
        tf.sum(tf.mul(y, g)),
        tf.sum(tf.mul(finalState.s, gS)),
        tf.sum(tf.mul(finalState.z, gZ)),
      ]);
    };
    const grads = tf.grads(loss)([q, k, v, s0, z0]);
    const [qv, kv, vv, gv, sv, zv, gSv, gZv] = arrays(q, k, v, g, s0, z0, gS, gZ);
    const dims = { batch: BATCH, queryLength: LENGTH, keyLength: LENGTH, channels: CHANNELS };
    const expected = eaBackward({ q: qv, k: kv, v: vv, dims }, gv, {
      order: ORDER,
      causal: true,
      initialState: { s: sv, z: zv },
      dFinalState: { s: gSv, z: gZv },
    });
    expectClose(grads[0], expected.dq, 1e-5, 'dq');
    expectClose(grads[1], expected.dk, 1e-5, 'dk');
    expectClose(grads[2], expected.dv, 1e-5, 'dv');
    expectClose(grads[3], expected.dInitialState!.s, 1e-5, 'ds0');
    expectClose(grads[4], expected.dInitialState!.z, 1e-5, 'dz0');
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, g, s0, z0, gS, gZ]);
  });

  it('a NaN among huge values reaches only the outputs that see it; a masked one none', () => {
    const [q, k] = [1, 2].map((seed) => randomNormal(SHAPE, seed, 1));
    const huge = hugeValues(SHAPE, 3e38);
    const [qv, kv, clean] = arrays(q, k, huge);
    const poisoned = Float32Array.from(clean);
    for (let b = 0; b < BATCH; b++) poisoned[(b * LENGTH + LENGTH - 1) * CHANNELS] = Number.NaN;
    const v = tf.tensor(poisoned, SHAPE);
    const dims = { batch: BATCH, queryLength: LENGTH, keyLength: LENGTH, channels: CHANNELS };

    // Causal: the last key of channel 0 is NaN; every earlier output is the clean answer.
    const y = elementwiseAttention(q, k, v, { order: ORDER, causal: true }).dataSync();
    const expected = eaForward({ q: qv, k: kv, v: clean, dims }, { order: ORDER, causal: true }).y;
    for (let b = 0; b < BATCH; b++) {
      for (let i = 0; i < LENGTH; i++) {
        for (let c = 0; c < CHANNELS; c++) {
          const at = (b * LENGTH + i) * CHANNELS + c;
          if (i === LENGTH - 1 && c === 0) expect(y[at], `y at ${at}`).toBeNaN();
          else expect(Math.abs(y[at] - expected[at]) / Math.abs(expected[at])).toBeLessThan(1e-5);
        }
      }
    }

    // The same key masked: every output is the oracle's, NaN nowhere.
    const mask = Float32Array.from({ length: BATCH * LENGTH }, (_, j) =>
      j % LENGTH === LENGTH - 1 ? 0 : 1,
    );
    const maskTensor = tf.tensor2d(mask, [BATCH, LENGTH]);
    const masked = elementwiseAttention(q, k, v, { order: ORDER, mask: maskTensor });
    const expectedMasked = eaForward({ q: qv, k: kv, v: clean, mask, dims }, { order: ORDER }).y;
    expectClose(masked, expectedMasked, 1e-5, 'y with the NaN key masked');
    tf.dispose([q, k, huge, v, maskTensor, masked]);
  });

  it('the recurrent step with huge v and state: y, state and gradients match the oracle', () => {
    const stepShape = [BATCH, CHANNELS];
    const [q, k, g] = [1, 2, 4].map((seed) => randomNormal(stepShape, seed, 1));
    const v = hugeValues(stepShape, 1e38);
    const { s, z } = hugeState(1e38);
    const start = tf.memory().numTensors;
    const out = elementwiseAttentionStep(q, k, v, { s, z }, { order: ORDER });
    const grads = tf.grads((...x: tf.Tensor[]) =>
      tf.sum(tf.mul(elementwiseAttentionStep(x[0], x[1], x[2], { s: x[3], z: x[4] }).y, g)),
    )([q, k, v, s, z]);
    const [qv, kv, vv, gv, sv, zv] = arrays(q, k, v, g, s, z);
    const options = { order: ORDER, batch: BATCH, channels: CHANNELS };
    const expected = eaStep(qv, kv, vv, { s: sv, z: zv }, options);
    expectClose(out.y, expected.y, 1e-5, 'y');
    expectClose(out.state.s, expected.state.s, 1e-5, "s'");
    expectClose(out.state.z, expected.state.z, 1e-5, "z'");
    const expectedGrads = eaStepBackward(qv, kv, vv, { s: sv, z: zv }, gv, options);
    expectClose(grads[0], expectedGrads.dq, 1e-5, 'dq');
    expectClose(grads[1], expectedGrads.dk, 1e-5, 'dk');
    expectClose(grads[2], expectedGrads.dv, 1e-5, 'dv');
    expectClose(grads[3], expectedGrads.dState.s, 1e-5, 'ds');
    expectClose(grads[4], expectedGrads.dState.z, 1e-5, 'dz');
    tf.dispose([out.y, out.state.s, out.state.z, ...grads]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, g, s, z]);
  });
});
