import { describe, expect, it } from 'vitest';
import { pairwiseQkMagnitudes, summarizeQkMagnitudes } from '../src/analysis/qk_statistics.js';

describe('|2qk| statistics', () => {
  // One sequence, 3 positions, 2 channels.
  const q = Float32Array.from([1, -2, 0.5, 1, 2, 0]);
  const k = Float32Array.from([1, 1, -1, 0.5, 0.25, 3]);
  const shape = { batch: 1, queries: 3, keys: 3, channels: 2 };

  it('takes every (query, key, channel) triple, or keys up to the query when causal', () => {
    const all = Array.from(pairwiseQkMagnitudes(q, k, shape, false));
    expect(all.length).toBe(3 * 3 * 2);
    // query 0 with key 1: |2·1·(−1)|, |2·(−2)·0.5|.
    expect(all.slice(2, 4)).toEqual([2, 2]);
    const causal = Array.from(pairwiseQkMagnitudes(q, k, shape, true));
    expect(causal.length).toBe((1 + 2 + 3) * 2);
    // query 2 (2, 0) with keys 0..2: |2·2·1|, 0, |2·2·(−1)|, 0, |2·2·0.25|, 0.
    expect(causal.slice(6)).toEqual([4, 0, 4, 0, 1, 0]);
  });

  it('summarises with nearest-rank percentiles and tail shares', () => {
    const values = Float32Array.from({ length: 100 }, (_, i) => (i + 1) / 20); // 0.05 .. 5
    const s = summarizeQkMagnitudes(values);
    expect(s.pairs).toBe(100);
    expect(s.p50).toBeCloseTo(2.5, 6);
    expect(s.p90).toBeCloseTo(4.5, 6);
    expect(s.p99).toBeCloseTo(4.95, 6);
    expect(s.max).toBeCloseTo(5, 6);
    expect(s.above1).toBeCloseTo(0.8, 10);
    expect(s.above2).toBeCloseTo(0.6, 10);
    expect(s.above3).toBeCloseTo(0.4, 10);
  });

  it('rejects arrays that do not match the shape', () => {
    expect(() => pairwiseQkMagnitudes(q, k, { ...shape, channels: 3 }, false)).toThrow(
      /expected \[1, 3, 3\]/,
    );
    expect(() => pairwiseQkMagnitudes(q, k.subarray(0, 4), { ...shape, keys: 2 }, true)).toThrow(
      /causal attention needs as many queries as keys/,
    );
  });
});
