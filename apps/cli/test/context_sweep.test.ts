import { describe, expect, it } from 'vitest';
import { extrapolate } from '../src/commands/context_sweep.js';

describe('extrapolate (the context sweep predicts a skipped length from the shorter ones)', () => {
  it('scales one point linearly', () => {
    expect(extrapolate([{ length: 256, value: 10 }], 1024)).toBeCloseTo(40, 10);
  });

  it('recovers u·L + v·L² exactly from two points (softmax: quadratic in L)', () => {
    const y = (length: number) => 3 * length + 0.25 * length * length;
    const points = [256, 512].map((length) => ({ length, value: y(length) }));
    expect(extrapolate(points, 4096)).toBeCloseTo(y(4096), 6);
  });

  it('uses the last two points and never predicts less than linear growth', () => {
    const concave = [
      { length: 256, value: 100 },
      { length: 512, value: 150 },
      { length: 1024, value: 200 },
    ];
    expect(extrapolate(concave, 2048)).toBeCloseTo(400, 10);
    expect(() => extrapolate([], 16)).toThrow('extrapolate: no measured point');
  });
});
