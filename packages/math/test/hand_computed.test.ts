/**
 * Tiny cases worked out by hand (L = 2, D = 1): q = [0, 1], k = [0, 1], v = [1, 3].
 *
 * Exact: w_00 = 1, w_01 = e^-1, w_10 = e^-1, w_11 = 1.
 * Series order 2: f(k=0) = [1, 0, 0], f(k=1) = [e^-1, e^-1, e^-1], a = [1, 2, 2], so
 *   S = [1 + 3/e, 3/e, 3/e], Z = [1 + 1/e, 1/e, 1/e];
 *   q = 0 reads S_0/Z_0; q = 1 reads (1 + 15/e) / (1 + 5/e).
 */
import { describe, expect, it } from 'vitest';
import { type AttentionInputs, eaForward } from '../src/index.js';

const E = Math.E;
const inputs: AttentionInputs = {
  q: [0, 1],
  k: [0, 1],
  v: [1, 3],
  dims: { batch: 1, queryLength: 2, keyLength: 2, channels: 1 },
};

function expectValues(got: Float64Array, expected: number[]): void {
  expect(got).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i], 14);
}

describe('hand-computed L=2, D=1 example', () => {
  it('exact, non-causal', () => {
    const y = eaForward(inputs, { order: 'exact' }).y;
    expectValues(y, [(1 + 3 / E) / (1 + 1 / E), (1 / E + 3) / (1 / E + 1)]);
  });

  it('exact, causal: the first query only sees the first key', () => {
    const y = eaForward(inputs, { order: 'exact', causal: true }).y;
    expectValues(y, [1, (1 / E + 3) / (1 / E + 1)]);
  });

  it('series order 2, non-causal', () => {
    const y = eaForward(inputs, { order: 2 }).y;
    expectValues(y, [(1 + 3 / E) / (1 + 1 / E), (1 + 15 / E) / (1 + 5 / E)]);
  });

  it('series order 2, causal, with final state', () => {
    const { y, finalState } = eaForward(inputs, { order: 2, causal: true, returnFinalState: true });
    expectValues(y, [1, (1 + 15 / E) / (1 + 5 / E)]);
    expectValues(finalState!.s, [1 + 3 / E, 3 / E, 3 / E]);
    expectValues(finalState!.z, [1 + 1 / E, 1 / E, 1 / E]);
  });

  it('series order 0 ignores the query: y = Σ e^{-k²} v / Σ e^{-k²}', () => {
    const y = eaForward(inputs, { order: 0 }).y;
    const value = (1 + 3 / E) / (1 + 1 / E);
    expectValues(y, [value, value]);
  });

  it('a mask hiding the second key leaves only v_0', () => {
    for (const order of ['exact', 0, 2] as const) {
      const y = eaForward({ ...inputs, mask: [1, 0] }, { order }).y;
      expectValues(y, [1, 1]);
    }
  });

  it('an initial state acts like extra keys seen by every query', () => {
    // State of one earlier key k = 0, v = 5: s = [5, 0, 0], z = [1, 0, 0].
    const initialState = { s: [5, 0, 0], z: [1, 0, 0] };
    const y = eaForward(inputs, { order: 2, causal: true, initialState }).y;
    expectValues(y, [(5 + 1) / 2, (5 + 1 + 15 / E) / (2 + 5 / E)]);
  });
});
