import { describe, expect, it } from 'vitest';
import {
  centralDifferenceGradient,
  randomNormal,
  softmaxAttention64,
  softmaxAttentionRows64,
  softmaxLoss64,
} from '../src/index.js';

describe('float64 softmax attention', () => {
  const dims = { count: 1, queries: 20, keys: 20, depth: 4, valueDepth: 4 };

  it('gives the first causal query its own value, and masked keys no weight', () => {
    const q = [1, 0, 0, 1];
    const k = [1, 0, 0, 1];
    const v = [2, 3, 5, 7];
    const small = { count: 1, queries: 2, keys: 2, depth: 2, valueDepth: 2 };
    expect(Array.from(softmaxAttention64(q, k, v, small, true)).slice(0, 2)).toEqual([2, 3]);
    expect(Array.from(softmaxAttention64(q, k, v, small, false, [0, 1]))).toEqual([5, 7, 5, 7]);
    expect(Array.from(softmaxAttention64(q, k, v, small, false, [0, 0]))).toEqual([0, 0, 0, 0]);
  });

  it('computes selected rows as the full computation does', () => {
    const [q, k, v] = [1, 2, 3].map((seed) => randomNormal(20 * 4, seed));
    const full = softmaxAttention64(q, k, v, dims, true);
    const rows = softmaxAttentionRows64(q, k, v, dims, true, [0, 19]);
    expect(Array.from(rows)).toEqual([...full.subarray(0, 4), ...full.subarray(76, 80)]);
  });

  it('aligns causal queries with the last keys, and its loss is Σ y ⊙ g', () => {
    const cached = { count: 1, queries: 2, keys: 3, depth: 1, valueDepth: 1 };
    const [q, k, v] = [
      [0, 0],
      [0, 0, 0],
      [1, 2, 4],
    ];
    // Equal scores: query 0 sees keys 0..1 (mean 1.5), query 1 sees all three (mean 7/3).
    const y = softmaxAttention64(q, k, v, cached, true);
    expect(y[0]).toBeCloseTo(1.5, 12);
    expect(y[1]).toBeCloseTo(7 / 3, 12);
    const g = [2, -1];
    expect(softmaxLoss64(q, k, v, g, cached, true)).toBeCloseTo(2 * 1.5 - 7 / 3, 12);
    const dv = centralDifferenceGradient(
      (x) => softmaxLoss64(q, k, x, g, cached, true),
      Float64Array.from(v),
    );
    expect(Array.from(dv)).toEqual([
      expect.closeTo(2 / 2 - 1 / 3, 6),
      expect.closeTo(2 / 2 - 1 / 3, 6),
      expect.closeTo(-1 / 3, 6),
    ]);
  });
});
