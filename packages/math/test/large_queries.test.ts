/**
 * Large finite queries: `a_n q^n` overflows float64 for |q| near 1e38 at order 8 and beyond, and
 * float32 far earlier. The oracle then reads the query with the terms divided by `q^t`, which
 * leaves y and every gradient unchanged; these tests pin both the switch and its answers.
 */
import { describe, expect, it } from 'vitest';
import { eaBackward, eaForward } from '../src/index.js';

const dims = { batch: 1, queryLength: 3, keyLength: 4, channels: 1 };
const k = Float64Array.from([0.3, -0.8, 1.1, 0.05]);
const v = Float64Array.from([1.5, -2, 0.25, 3]);

/** S_t / Z_t: the limit of y as |q| grows, where the degree-t term dominates. */
function highestTermRatio(order: number): number {
  let s = 0;
  let z = 0;
  k.forEach((key, j) => {
    const f = key ** order * Math.exp(-key * key);
    s += f * v[j];
    z += f;
  });
  return s / z;
}

describe('large finite queries', () => {
  for (const order of [6, 8, 20, 40]) {
    it(`q near float32 max gives the limit S_t / Z_t, finite (order ${order})`, () => {
      const q = Float64Array.from([3.4e38, -3.4e38, 1e30]);
      const { y } = eaForward({ q, k, v, dims }, { order });
      for (const value of y) {
        expect(value).toBeCloseTo(highestTermRatio(order), 12);
      }
      const { dq, dk, dv } = eaBackward({ q, k, v, dims }, [1, -1, 0.5], { order });
      for (const values of [dq, dk, dv]) expect(values.every(Number.isFinite)).toBe(true);
    });
  }

  it('the switch to scaled terms is seamless: y is continuous in q across it', () => {
    // At order 40 the plain terms overflow float64 for |2q| ≳ 1e9.
    const order = 40;
    const below = eaForward({ q: [2e8, 2e8, 2e8], k, v, dims }, { order }).y[0];
    const above = eaForward({ q: [4e9, 4e9, 4e9], k, v, dims }, { order }).y[0];
    const onSwitch = eaForward({ q: [1e9, 1e9, 1e9], k, v, dims }, { order }).y[0];
    expect(Number.isFinite(onSwitch)).toBe(true);
    expect(Math.abs(below - highestTermRatio(order))).toBeLessThan(1e-6);
    expect(Math.abs(above - highestTermRatio(order))).toBeLessThan(1e-6);
  });

  it('∂q stays finite and matches finite differences for q·1e5 at order 8', () => {
    const order = 8;
    const q = Float64Array.from([1.2e5, -0.7e5, 2e5]);
    const g = [1, -0.5, 2];
    const { dq } = eaBackward({ q, k, v, dims }, g, { order });
    const loss = (x: Float64Array) => {
      const y = eaForward({ q: x, k, v, dims }, { order }).y;
      return y.reduce((sum, value, i) => sum + value * g[i], 0);
    };
    for (let i = 0; i < q.length; i++) {
      const h = Math.abs(q[i]) * 1e-6;
      const up = Float64Array.from(q);
      const down = Float64Array.from(q);
      up[i] += h;
      down[i] -= h;
      const numeric = (loss(up) - loss(down)) / (2 * h);
      expect(Math.abs(dq[i] - numeric)).toBeLessThanOrEqual(1e-6 * Math.abs(numeric) + 1e-300);
    }
  });
});

describe('∂q of large queries keeps its digits', () => {
  it('matches the leading term of dy/dq at q ≈ 1e30, where the plain form would cancel', () => {
    // y = (a_t S_t + a_{t-1} r S_{t-1} + …) / (a_t Z_t + a_{t-1} r Z_{t-1} + …) with r = 1/q, so
    // dy/dq = -r² (t/2) (S_{t-1} - y Z_{t-1}) / Z_t to relative order r, exact in float64 here.
    const order = 40;
    const q = Float64Array.from([1e30, -2e30, 3e30]);
    const g = [1, -0.5, 2];
    const { dq } = eaBackward({ q, k, v, dims }, g, { order });
    const moment = (n: number, weighted: boolean) =>
      k.reduce((sum, key, j) => sum + key ** n * Math.exp(-key * key) * (weighted ? v[j] : 1), 0);
    const limit = moment(order, true) / moment(order, false);
    const slope =
      ((order / 2) * (moment(order - 1, true) - limit * moment(order - 1, false))) /
      moment(order, false);
    for (let i = 0; i < q.length; i++) {
      const expected = (-g[i] * slope) / (q[i] * q[i]);
      expect(Math.abs(dq[i] - expected)).toBeLessThanOrEqual(1e-10 * Math.abs(expected));
    }
  });
});
