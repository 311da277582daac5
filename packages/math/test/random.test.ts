import { describe, expect, it } from 'vitest';
import { randomGenerator, randomNormal, randomUniform } from '../src/index.js';

describe('seeded random numbers', () => {
  it('repeat from a seed and differ between seeds', () => {
    const a = randomGenerator(7);
    const b = randomGenerator(7);
    const c = randomGenerator(8);
    const first = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(first);
    expect(Array.from({ length: 5 }, c)).not.toEqual(first);
    for (const x of first) expect(x >= 0 && x < 1).toBe(true);
  });

  it('draw normal and uniform samples with the asked scale', () => {
    const n = 20000;
    const normal = randomNormal(n, 3, 2);
    const mean = normal.reduce((s, x) => s + x, 0) / n;
    const variance = normal.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.sqrt(variance)).toBeCloseTo(2, 1);
    const uniform = randomUniform(n, 3, 0.5);
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...uniform)).toBeLessThan(0.5);
    expect(uniform.reduce((s, x) => s + x * x, 0) / n).toBeCloseTo(0.25 / 3, 2);
  });
});
