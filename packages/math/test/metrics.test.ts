import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { centralDifferenceGradient, maxAbsError, relativeRmsError } from '../src/index.js';
import { PROPERTY_RUNS } from './helpers.js';

describe('relativeRmsError', () => {
  it('matches hand-computed values', () => {
    expect(relativeRmsError([3, 4], [3, 4])).toBe(0);
    expect(relativeRmsError([3, 4], [0, 0])).toBe(1);
    expect(relativeRmsError([3, 4], [3, 5])).toBeCloseTo(1 / 5, 15);
  });

  it('falls back to ‖got‖₂ when the reference is zero', () => {
    expect(relativeRmsError([0, 0], [3, 4])).toBe(5);
    expect(relativeRmsError([0, 0], [0, 0])).toBe(0);
  });

  it('is NaN when a value is NaN, and rejects different lengths', () => {
    expect(relativeRmsError([1, 2], [1, Number.NaN])).toBeNaN();
    expect(() => relativeRmsError([1, 2], [1])).toThrow(
      'got must have the same length as reference (2), got length 1',
    );
  });

  it('is invariant to scaling both arguments', () => {
    fc.assert(
      fc.property(
        // Hundredths in [-10, 10]: no subnormals, whose scaling is not exact.
        fc.array(
          fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        (a, scale) => {
          const b = a.map((x, i) => x + 0.01 * i);
          const scaled = relativeRmsError(
            a.map((x) => x * scale),
            b.map((x) => x * scale),
          );
          const plain = relativeRmsError(a, b);
          if (a.some((x) => x !== 0)) expect(scaled).toBeCloseTo(plain, 10);
        },
      ),
      PROPERTY_RUNS,
    );
  });
});

describe('maxAbsError', () => {
  it('matches hand-computed values', () => {
    expect(maxAbsError([1, -2, 3], [1.5, -2, 0])).toBe(3);
    expect(maxAbsError([], [])).toBe(0);
    expect(maxAbsError([1, 2], [Number.NaN, 2])).toBeNaN();
    expect(maxAbsError([1, 2], [1, Number.NaN])).toBeNaN();
    expect(() => maxAbsError([1], [1, 2])).toThrow('same length');
  });
});

describe('centralDifferenceGradient', () => {
  it('recovers the gradient of Σ x³ + x_0 x_1 and leaves x untouched', () => {
    fc.assert(
      fc.property(
        fc.float64Array({ min: -3, max: 3, noNaN: true, minLength: 2, maxLength: 6 }),
        (x) => {
          const before = Array.from(x);
          const f = (p: Float64Array) => p.reduce((s, v) => s + v ** 3, 0) + p[0] * p[1];
          const gradient = centralDifferenceGradient(f, x);
          const expected = Array.from(
            x,
            (v, i) => 3 * v * v + (i === 0 ? x[1] : i === 1 ? x[0] : 0),
          );
          expect(maxAbsError(expected, gradient)).toBeLessThan(1e-8);
          expect(Array.from(x)).toEqual(before);
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('rejects a non-positive step', () => {
    expect(() => centralDifferenceGradient(() => 0, new Float64Array(1), 0)).toThrow(
      'h must be a finite number > 0, got 0',
    );
  });
});
