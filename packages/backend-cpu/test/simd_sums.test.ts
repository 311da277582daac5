import { describe, expect, it } from 'vitest';
import { seriesSimd, simdCallCounts } from '../src/simd/series_simd.js';

/**
 * The SIMD kernels add in float32 but flush their partial sums into float64 every 128
 * positions (assembly/sums.ts). Over 2^20 positions a plain float32 running sum drifts by far
 * more than 1e-5; these sums must stay at float32 rounding. k = 0 makes every e^{-k²} = 1, so
 * with order 0 the causal output is the running mean of v and the final state holds Σ v and L.
 */

const LENGTH = 1 << 20;
const CHANNELS = 4;

function values(seed: number): Float32Array {
  // A positive mean (0.1) plus noise: a running sum grows, so its float32 ulp grows with it.
  return Float32Array.from(
    { length: LENGTH * CHANNELS },
    (_, i) => 0.1 + 0.05 * Math.sin(seed + i * 0.61803),
  );
}

describe('compensated running sums of the SIMD kernels at L = 2^20', () => {
  it('the causal output and final state match float64 sums; a float32 sum would not', () => {
    const simd = seriesSimd();
    if (simd == null) throw new Error('the SIMD module did not load');
    const v = values(1);
    const inputs = {
      q: new Float32Array(LENGTH * CHANNELS),
      k: new Float32Array(LENGTH * CHANNELS),
      v,
      mask: new Float32Array(LENGTH).fill(1),
      initialS: new Float32Array(CHANNELS),
      initialZ: new Float32Array(CHANNELS),
    };
    const out = {
      y: new Float32Array(LENGTH * CHANNELS),
      finalS: new Float32Array(CHANNELS),
      finalZ: new Float32Array(CHANNELS),
    };
    const dims = { batch: 1, queries: LENGTH, keys: LENGTH, channels: CHANNELS };
    const before = simdCallCounts();
    expect(simd.forward({ ...inputs, ...out, ...dims, order: 0, causal: true }, null)).toBe(true);
    const after = simdCallCounts();
    expect(after.copied - before.copied, 'the SIMD kernel ran').toBe(1);
    expect(after.recomputed - before.recomputed, 'not recomputed in float64').toBe(0);

    let worstY = 0;
    let worstNaive = 0;
    for (let c = 0; c < CHANNELS; c++) {
      let exact = 0;
      let naive = Math.fround(0);
      for (let i = 0; i < LENGTH; i++) {
        exact += v[i * CHANNELS + c];
        naive = Math.fround(naive + v[i * CHANNELS + c]);
        if ((i & 1023) === 1023 || i === LENGTH - 1) {
          const mean = exact / (i + 1);
          worstY = Math.max(worstY, Math.abs(out.y[i * CHANNELS + c] - mean) / mean);
          worstNaive = Math.max(worstNaive, Math.abs(naive / (i + 1) - mean) / mean);
        }
      }
      expect(Math.abs(out.finalS[c] - exact) / exact).toBeLessThanOrEqual(2 ** -23);
      expect(out.finalZ[c]).toBe(LENGTH);
    }
    console.log(
      `[simd sums] L = 2^20: worst relative error of y ${worstY.toExponential(1)}; a plain float32 running sum: ${worstNaive.toExponential(1)}`,
    );
    expect(worstNaive, 'the case is hard for plain float32 sums').toBeGreaterThan(1e-4);
    expect(worstY).toBeLessThanOrEqual(1e-6);
  });
});
