import { describe, expect, it } from 'vitest';
import {
  assertOrder,
  assertSeriesOrder,
  eaForward,
  eaStep,
  isSeriesOrder,
  MAX_ORDER,
  orderProblem,
  taylorCoefficients,
  zeroState,
} from '../src/index.js';

const FLOAT32_MIN_NORMAL = 2 ** -126;
const FLOAT32_MAX = 3.4028234663852886e38;

describe('order checks', () => {
  it('accepts even integers from 0 to MAX_ORDER as series orders', () => {
    for (const order of [0, 2, 4, 6, 8, MAX_ORDER - 2, MAX_ORDER]) {
      expect(isSeriesOrder(order)).toBe(true);
      expect(orderProblem(order)).toBeUndefined();
      expect(() => assertSeriesOrder(order)).not.toThrow();
      expect(() => assertOrder(order)).not.toThrow();
    }
  });

  it('rejects odd, negative, fractional and non-numeric series orders with a clear message', () => {
    expect(() => assertSeriesOrder(3)).toThrow('order must be an even integer >= 0, got 3');
    expect(() => assertSeriesOrder(-2)).toThrow('got -2');
    expect(() => assertSeriesOrder(2.5)).toThrow('got 2.5');
    expect(() => assertSeriesOrder(Number.NaN)).toThrow('got NaN');
    expect(() => assertSeriesOrder(Number.POSITIVE_INFINITY)).toThrow('got Infinity');
    expect(() => assertSeriesOrder('exact')).toThrow("got 'exact'");
    expect(() => assertSeriesOrder(undefined)).toThrow('got undefined');
    expect(() => assertSeriesOrder(3, 'options.order')).toThrow(
      'options.order must be an even integer >= 0, got 3',
    );
    expect(isSeriesOrder('2')).toBe(false);
  });

  it("assertOrder also accepts 'exact' and says so when it rejects", () => {
    expect(() => assertOrder('exact')).not.toThrow();
    expect(() => assertOrder(3)).toThrow("order must be an even integer >= 0 or 'exact', got 3");
    expect(() => assertOrder('Exact')).toThrow("got 'Exact'");
    expect(() => assertOrder(null)).toThrow('got null');
  });

  it('rejects orders above MAX_ORDER, naming the bound', () => {
    for (const order of [MAX_ORDER + 2, 1e6, 1e9]) {
      expect(isSeriesOrder(order)).toBe(false);
      expect(() => assertSeriesOrder(order)).toThrow(
        `order must be an even integer from 0 to MAX_ORDER = ${MAX_ORDER} (higher Taylor terms underflow or overflow float32), got ${order}`,
      );
      expect(() => assertOrder(order)).toThrow(
        `order must be an even integer from 0 to MAX_ORDER = ${MAX_ORDER} or 'exact' (`,
      );
    }
    expect(orderProblem(MAX_ORDER + 1, false)).toMatch(/from 0 to MAX_ORDER = \d+ .*got 41$/);
  });

  it('the oracle refuses orders above MAX_ORDER in every entry point', () => {
    const inputs = {
      q: [0.5],
      k: [0.2],
      v: [1],
      dims: { batch: 1, queryLength: 1, keyLength: 1, channels: 1 },
    };
    const over = MAX_ORDER + 2;
    expect(() => eaForward(inputs, { order: over })).toThrow(`got ${over}`);
    expect(() => zeroState(over, 1, 1)).toThrow(`got ${over}`);
    const state = zeroState(MAX_ORDER, 1, 1);
    expect(() => eaStep([0.5], [0.2], [1], state, { order: over, batch: 1, channels: 1 })).toThrow(
      `got ${over}`,
    );
    expect(eaForward(inputs, { order: MAX_ORDER }).y[0]).toBeCloseTo(1, 12);
  });
});

/** The float32 facts MAX_ORDER rests on; if the bound moves, these say whether it still holds. */
describe('MAX_ORDER is where float32 still holds every Taylor term', () => {
  it('a_n = 2^n/n! is a normal float32 through MAX_ORDER and subnormal right after', () => {
    const a = taylorCoefficients(MAX_ORDER + 2);
    for (let n = 0; n <= MAX_ORDER; n++) {
      expect(Math.fround(a[n]), `a_${n}`).toBeGreaterThanOrEqual(FLOAT32_MIN_NORMAL);
    }
    expect(Math.fround(a[MAX_ORDER + 2])).toBeLessThan(FLOAT32_MIN_NORMAL);
  });

  it('q^MAX_ORDER is finite in float32 up to about the |k| where e^{-k²} underflows', () => {
    // e^{-k²} drops below the smallest normal float32 at |k| = sqrt(126 ln 2) ≈ 9.35.
    const underflow = Math.sqrt(126 * Math.LN2);
    const qLimit = FLOAT32_MAX ** (1 / MAX_ORDER);
    expect(qLimit).toBeGreaterThan(9);
    expect(FLOAT32_MAX ** (1 / (MAX_ORDER + 2))).toBeLessThan(underflow);
  });

  it('the largest state entry max_k k^n e^{-k²} = (n/2e)^{n/2} is far from float32 overflow', () => {
    const peak = (n: number) => (n / (2 * Math.E)) ** (n / 2);
    expect(peak(MAX_ORDER)).toBeLessThan(1e18);
    // Where the state itself would overflow: keys near |k| = sqrt(n/2) suffice.
    expect(peak(70)).toBeGreaterThan(FLOAT32_MAX);
  });
});
