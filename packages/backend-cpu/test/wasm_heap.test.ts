import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { simdCallCounts } from '../src/simd/series_simd.js';
import { type Case, expectCaseMatchesOracle, makeCaseData, useBackend } from './helpers.js';

/**
 * On tfjs `wasm` the SIMD kernels compute in place on the backend's heap (no copies) when the
 * channel count is a multiple of 4, and on padded copies otherwise. Their scratch comes from the
 * backend's allocator, so the tensors around them must come out untouched.
 */

const delta = (before: ReturnType<typeof simdCallCounts>) => {
  const after = simdCallCounts();
  return {
    onHeap: after.onHeap - before.onHeap,
    copied: after.copied - before.copied,
    recomputed: after.recomputed - before.recomputed,
  };
};

describe('SIMD kernels on the tfjs wasm heap', () => {
  for (const [channels, path] of [
    [8, 'onHeap'],
    [6, 'copied'],
  ] as const) {
    it(`D = ${channels}: forward and backward run ${path === 'onHeap' ? 'in place' : 'on copies'}, match the oracle and leave other tensors intact`, async () => {
      await useBackend('wasm');
      const c: Case = {
        batch: 2,
        queries: 300,
        keys: 300,
        channels,
        order: 6,
        causal: true,
        masked: true,
        withState: true,
      };
      const bystander = tf.tensor1d(Float32Array.from({ length: 4096 }, (_, i) => i * 0.5));
      const before = simdCallCounts();
      expectCaseMatchesOracle(c);
      const calls = delta(before);
      // The forward, the forward again inside tf.grads, and the backward.
      expect(calls[path], 'kernel calls on the expected path').toBe(3);
      expect(calls.recomputed).toBe(0);
      const kept = bystander.dataSync();
      expect(kept.every((x, i) => x === i * 0.5)).toBe(true);
      bystander.dispose();
    });
  }

  it('large keys are recomputed in float64 and still follow the oracle', async () => {
    await useBackend('wasm');
    const c: Case = { batch: 1, queries: 40, keys: 40, channels: 4, order: 6, causal: true };
    const data = makeCaseData(c, 3);
    // k² > 64 for one key: e^{-k²} ≈ 1e-30 is near float32 underflow, not float64's.
    data.k[4 * 7 + 1] = 8.5;
    const before = simdCallCounts();
    expectCaseMatchesOracle(c, data);
    expect(delta(before).recomputed).toBe(3);
  });
});
