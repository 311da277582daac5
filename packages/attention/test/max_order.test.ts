import {
  eaBackward,
  eaForward,
  eaStep,
  zeroState as oracleZeroState,
  relativeRmsError,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOrder } from '../src/authoring/index.js';
import { seriesForward } from '../src/composite/series.js';
import {
  ElementwiseAttentionForward,
  elementwiseAttention,
  elementwiseAttentionStep,
  MAX_ORDER,
  zeroState,
} from '../src/index.js';
import {
  expectClose,
  randomNormal,
  refusedCall,
  refusedCallsLeakNothing,
  useBackend,
} from './helpers.js';
import './node_backends.js';

const TOO_HIGH = [MAX_ORDER + 2, 1e6, 1e9];
const bound = (exact: boolean) =>
  `order must be an even integer from 0 to MAX_ORDER = ${MAX_ORDER}${exact ? " or 'exact'" : ''} (higher Taylor terms underflow or overflow float32), got`;

describe('orders above MAX_ORDER are refused before any work', () => {
  refusedCallsLeakNothing('cpu');
  const x = () => tf.zeros([1, 3, 2]);

  it('MAX_ORDER is 40', () => {
    expect(MAX_ORDER).toBe(40);
  });

  it.each(TOO_HIGH)('elementwiseAttention, order %s', (order) => {
    expect(refusedCall(() => elementwiseAttention(x(), x(), x(), { order }))).toThrow(
      `elementwiseAttention: ${bound(true)} ${order}`,
    );
  });

  it.each(TOO_HIGH)('elementwiseAttentionStep and zeroState, order %s', (order) => {
    const state = zeroState(MAX_ORDER, 1, 2);
    const row = () => tf.zeros([1, 2]);
    expect(
      refusedCall(() => elementwiseAttentionStep(row(), row(), row(), state, { order })),
    ).toThrow(`elementwiseAttentionStep: ${bound(false)} ${order}`);
    tf.dispose([state.s, state.z]);
    expect(() => zeroState(order, 1, 2)).toThrow(`zeroState: ${bound(false)} ${order}`);
  });

  it.each(TOO_HIGH)('the kernels’ readOrder, order %s', (order) => {
    expect(() => readOrder(ElementwiseAttentionForward, { order })).toThrow(
      `${ElementwiseAttentionForward}: ${bound(true)} ${order}`,
    );
  });

  it('an odd order above the bound names the bound too', () => {
    expect(
      refusedCall(() => elementwiseAttention(x(), x(), x(), { order: MAX_ORDER + 1 })),
    ).toThrow(`${bound(true)} ${MAX_ORDER + 1}`);
  });
});

describe('order MAX_ORDER matches the float64 oracle on cpu (composite)', () => {
  beforeAll(() => useBackend('cpu'));
  const [batch, length, channels] = [2, 9, 5];
  const dims = { batch, queryLength: length, keyLength: length, channels };
  const tensors = () => [1, 2, 3].map((seed) => randomNormal([batch, length, channels], seed));

  it.each([false, true])('forward and gradients, causal %s', (causal) => {
    const [q, k, v] = tensors();
    const dy = randomNormal([batch, length, channels], 4);
    const start = tf.memory().numTensors;
    const [qv, kv, vv, dyv] = [q, k, v, dy].map((t) => t.dataSync());
    const inputs = { q: qv, k: kv, v: vv, dims };
    const options = { order: MAX_ORDER, causal };
    const expected = eaForward(inputs, options);
    const expectedGrads = eaBackward(inputs, dyv, options);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(elementwiseAttention(a, b, c, options), dy));
    const y = elementwiseAttention(q, k, v, options);
    const [dq, dk, dv] = tf.grads(f)([q, k, v]);
    expectClose(y, expected.y, 1e-5, 'y');
    expectClose(dq, expectedGrads.dq, 1e-5, 'dq');
    expectClose(dk, expectedGrads.dk, 1e-5, 'dk');
    expectClose(dv, expectedGrads.dv, 1e-5, 'dv');
    tf.dispose([y, dq, dk, dv]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([q, k, v, dy]);
  });

  it('the recurrent step', () => {
    const [q, k, v] = [1, 2, 3].map((seed) => randomNormal([batch, channels], seed));
    let state = zeroState(MAX_ORDER, batch, channels);
    let expectedState = oracleZeroState(MAX_ORDER, batch, channels);
    const [qv, kv, vv] = [q, k, v].map((t) => t.dataSync());
    const stepOptions = { order: MAX_ORDER, batch, channels };
    for (let i = 0; i < 3; i++) {
      const out = elementwiseAttentionStep(q, k, v, state, { order: MAX_ORDER });
      const expected = eaStep(qv, kv, vv, expectedState, stepOptions);
      expectClose(out.y, expected.y, 1e-5, `y at step ${i}`);
      expectClose(out.state.s, expected.state.s, 1e-5, `s at step ${i}`);
      tf.dispose([out.y, state.s, state.z]);
      state = out.state;
      expectedState = expected.state;
    }
    tf.dispose([state.s, state.z, q, k, v]);
  });
});

describe('why the bound is where it is', () => {
  beforeAll(() => useBackend('cpu'));

  /**
   * Non-causal EA-series in float64 for any order, by running products as the oracle builds
   * them; the oracle itself refuses orders above MAX_ORDER, which this test needs to go past.
   */
  function series64(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    order: number,
    [batch, length, channels]: readonly number[],
  ): Float64Array {
    const y = new Float64Array(q.length);
    const at = (b: number, i: number, c: number) => (b * length + i) * channels + c;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < length; i++) {
          let numerator = 0;
          let denominator = 0;
          for (let j = 0; j < length; j++) {
            // e^{-k²} T_t(2qk), summed term by term: (2qk)^n / n! as a running product.
            const x = 2 * q[at(b, i, c)] * k[at(b, j, c)];
            let term = 1;
            let weight = 1;
            for (let n = 1; n <= order; n++) {
              term *= x / n;
              weight += term;
            }
            weight *= Math.exp(-(k[at(b, j, c)] ** 2));
            numerator += weight * v[at(b, j, c)];
            denominator += weight;
          }
          y[at(b, i, c)] = numerator / denominator;
        }
      }
    }
    return y;
  }

  /** The composite's relative RMS error against float64, with the op's order check bypassed. */
  function compositeError(order: number, scale: number): number {
    const shape: [number, number, number] = [2, 33, 6];
    const [batch, length, channels] = shape;
    const [q, k] = [1, 2].map(
      (seed) => tf.randomUniform(shape, -scale, scale, 'float32', seed) as tf.Tensor3D,
    );
    const v = randomNormal(shape, 3, 1) as tf.Tensor3D;
    const moments = tf.zeros([batch, order + 1, channels]) as tf.Tensor3D;
    const mask = tf.ones([batch, length]) as tf.Tensor2D;
    const inputs = { q, k, v, mask, initialS: moments, initialZ: moments };
    const [y, finalS, finalZ] = seriesForward(inputs, order, false);
    const got = y.dataSync();
    const [qv, kv, vv] = [q, k, v].map((t) => t.dataSync() as Float32Array);
    const expected = series64(qv, kv, vv, order, shape);
    tf.dispose([q, k, v, moments, mask, y, finalS, finalZ]);
    return got.every(Number.isFinite) ? relativeRmsError(expected, got) : Number.POSITIVE_INFINITY;
  }

  it('the float64 reference of this test agrees with the oracle where both run', () => {
    const shape: number[] = [1, 4, 2];
    const [q, k, v] = [1, 2, 3].map((seed) => randomNormal(shape, seed).dataSync() as Float32Array);
    const dims = { batch: 1, queryLength: 4, keyLength: 4, channels: 2 };
    const oracle = eaForward({ q, k, v, dims }, { order: MAX_ORDER }).y;
    expect(relativeRmsError(oracle, series64(q, k, v, MAX_ORDER, shape))).toBeLessThan(1e-12);
  });

  it('with |q|, |k| up to 4.5 the composite holds float32 rounding at MAX_ORDER', () => {
    expect(compositeError(MAX_ORDER, 4.5)).toBeLessThan(1e-6);
    // The composite builds a_n q^n as a running product (never a_n alone), so it holds beyond
    // the bound as long as the key features fit float32; the fused kernels' a_n tables do not.
    expect(compositeError(MAX_ORDER + 20, 4.5)).toBeLessThan(1e-6);
    // max_k k^n e^{-k²} exceeds float32 from n = 70: the moments overflow.
    expect(compositeError(80, 4.5)).toBe(Number.POSITIVE_INFINITY);
  });
});
