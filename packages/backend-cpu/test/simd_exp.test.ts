import { describe, expect, it } from 'vitest';
import { simdExpOfNegative } from '../src/simd/series_simd.js';

/**
 * The float32x4 e^{-s} of the SIMD kernels (assembly/exp.ts) against Math.exp in float64:
 * relative error over a dense grid, exact values, underflow to exactly 0, special values.
 */

const exp = (values: number[] | Float32Array) => {
  const result = simdExpOfNegative(Float32Array.from(values));
  if (result == null) throw new Error('the SIMD module did not load');
  return result;
};

/** float32 spacing at 1 is 2^-23; relative error is measured in those units. */
const ULP = 2 ** -23;

describe('e^{-s} of the SIMD kernels', () => {
  it('stays within 2 ulp of Math.exp over a dense grid of s in [0, 87]', () => {
    const count = 1 << 21;
    // Every float32 grid point s_i = 87 i / count, plus the float32 neighbours of range
    // reduction boundaries (s near multiples of ln 2 / 2), where r is largest.
    const grid = new Float32Array(count + 2 * 251);
    for (let i = 0; i < count; i++) grid[i] = (87 * i) / count;
    for (let m = 0; m < 251; m++) {
      const boundary = Math.fround((m + 0.5) * Math.LN2);
      grid[count + 2 * m] = boundary;
      grid[count + 2 * m + 1] = Math.fround(boundary * (1 + ULP));
    }
    const got = exp(grid);
    let worst = 0;
    let worstAt = 0;
    for (let i = 0; i < grid.length; i++) {
      if (grid[i] > 87) continue;
      const expected = Math.exp(-grid[i]);
      const error = Math.abs(got[i] - expected) / expected / ULP;
      if (error > worst) {
        worst = error;
        worstAt = grid[i];
      }
    }
    console.log(`[simd exp] max relative error ${worst.toFixed(2)} ulp (at s = ${worstAt})`);
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('is exactly 1 at s = 0 and -0, and decreases monotonically on a fine grid', () => {
    expect(Array.from(exp([0, -0]))).toEqual([1, 1]);
    const grid = Float32Array.from({ length: 100_000 }, (_, i) => i * 1e-4);
    const got = exp(grid);
    for (let i = 1; i < got.length; i++) {
      if (!(got[i] <= got[i - 1])) throw new Error(`not monotone at s = ${grid[i]}`);
    }
  });

  it('underflows to exactly 0 above s = 87, stays a normal float32 up to it', () => {
    const [at87, above, far, infinite] = exp([87, 87.0001, 1e4, Number.POSITIVE_INFINITY]);
    expect(at87).toBeGreaterThanOrEqual(2 ** -126);
    expect(Math.abs(at87 - Math.exp(-87)) / Math.exp(-87)).toBeLessThanOrEqual(2 * ULP);
    expect([above, far, infinite]).toEqual([0, 0, 0]);
  });

  it('propagates NaN', () => {
    expect(Number.isNaN(exp([Number.NaN])[0])).toBe(true);
  });
});
