import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isPositiveTaylorOrder,
  taylorCoefficients,
  taylorPolynomial,
  taylorRelativeError,
} from '../src/index.js';

function factorial(n: number): number {
  let result = 1;
  for (let i = 2; i <= n; i++) result *= i;
  return result;
}

/** Smallest value of T_t on a fine grid over [lo, hi]. */
function gridMinimum(order: number, lo: number, hi: number, samples = 4001): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (let s = 0; s < samples; s++) {
    smallest = Math.min(smallest, taylorPolynomial(lo + ((hi - lo) * s) / (samples - 1), order));
  }
  return smallest;
}

describe('taylorCoefficients', () => {
  it('gives a_n = 2^n / n! for a small order', () => {
    const a = taylorCoefficients(6);
    const expected = [1, 2, 2, 4 / 3, 2 / 3, 4 / 15, 4 / 45];
    expect(a).toHaveLength(7);
    for (let n = 0; n < expected.length; n++) expect(a[n]).toBeCloseTo(expected[n], 15);
  });

  it('matches 2^n / n! up to order 30', () => {
    const a = taylorCoefficients(30);
    for (let n = 0; n <= 30; n++) {
      const expected = 2 ** n / factorial(n);
      expect(Math.abs(a[n] - expected) / expected).toBeLessThan(1e-14);
    }
  });

  it('has a single coefficient 1 at order 0', () => {
    expect(Array.from(taylorCoefficients(0))).toEqual([1]);
  });

  it('rejects negative and fractional orders', () => {
    expect(() => taylorCoefficients(-1)).toThrow('order must be an integer >= 0, got -1');
    expect(() => taylorCoefficients(1.5)).toThrow('got 1.5');
  });
});

describe('taylorPolynomial', () => {
  it('matches hand-computed values', () => {
    expect(taylorPolynomial(3, 0)).toBe(1);
    expect(taylorPolynomial(3, 1)).toBe(4);
    expect(taylorPolynomial(0.5, 2)).toBeCloseTo(1.625, 15);
    expect(taylorPolynomial(-2, 3)).toBeCloseTo(1 - 2 + 2 - 8 / 6, 15);
  });

  it('converges to e^x at high order', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), (x) => {
        expect(Math.abs(taylorPolynomial(x, 40) - Math.exp(x)) / Math.exp(x)).toBeLessThan(1e-13);
      }),
      { numRuns: 50 },
    );
  });

  it('factorises as T_t(2qk) = Σ_n a_n q^n k^n, the identity EA-series relies on', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 12 }),
        (q, k, order) => {
          const a = taylorCoefficients(order);
          let sum = 0;
          for (let n = 0; n <= order; n++) sum += a[n] * q ** n * k ** n;
          const direct = taylorPolynomial(2 * q * k, order);
          expect(Math.abs(sum - direct)).toBeLessThan(1e-12 * Math.max(1, Math.abs(direct)) * 16);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('positivity of T_t', () => {
  it('even orders stay positive everywhere (minimum checked on a grid)', () => {
    // The minimum of T_t lies in [-t, 0]; the grid covers well beyond that.
    for (let order = 0; order <= 20; order += 2) {
      expect(isPositiveTaylorOrder(order)).toBe(true);
      expect(gridMinimum(order, -2 * order - 5, 5)).toBeGreaterThan(0);
    }
  });

  it('odd orders take a negative value somewhere', () => {
    for (let order = 1; order <= 21; order += 2) {
      expect(isPositiveTaylorOrder(order)).toBe(false);
      expect(gridMinimum(order, -2 * order - 5, 5)).toBeLessThan(0);
    }
  });

  it('negative and fractional orders are not positive orders', () => {
    expect(isPositiveTaylorOrder(-2)).toBe(false);
    expect(isPositiveTaylorOrder(2.5)).toBe(false);
    expect(isPositiveTaylorOrder(Number.NaN)).toBe(false);
  });
});

describe('taylorRelativeError', () => {
  it('is zero-width exact at x = 0 and matches the endpoint error on [-1, 1]', () => {
    expect(taylorRelativeError(2, 0, 0, 2)).toEqual({ max: 0, rms: 0 });
    // For even t the relative error on [-1, 1] is largest at x = -1.
    const atMinusOne = Math.abs(taylorPolynomial(-1, 8) - Math.exp(-1)) / Math.exp(-1);
    const error = taylorRelativeError(8, -1, 1);
    expect(error.max).toBeCloseTo(atMinusOne, 15);
    expect(error.rms).toBeGreaterThan(0);
    expect(error.rms).toBeLessThanOrEqual(error.max);
  });

  it('decreases with the order and grows with the interval', () => {
    // Not the max on [-2, 2]: T_0(-2) = T_2(-2) = 1, so orders 0 and 2 tie at x = -2.
    for (let order = 0; order < 16; order += 2) {
      expect(taylorRelativeError(order + 2, -1, 1).max).toBeLessThan(
        taylorRelativeError(order, -1, 1).max,
      );
      expect(taylorRelativeError(order + 2, -2, 2).rms).toBeLessThan(
        taylorRelativeError(order, -2, 2).rms,
      );
      expect(taylorRelativeError(order, -1, 1).max).toBeLessThan(
        taylorRelativeError(order, -2, 2).max,
      );
    }
  });

  it('rejects bad intervals and sample counts', () => {
    expect(() => taylorRelativeError(2, 1, -1)).toThrow('lo <= hi');
    expect(() => taylorRelativeError(2, -1, 1, 1)).toThrow(
      'samples must be an integer >= 2, got 1',
    );
    expect(() => taylorRelativeError(2, Number.NaN, 1)).toThrow('finite');
  });
});
