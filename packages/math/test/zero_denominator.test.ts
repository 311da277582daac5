/**
 * The zero-denominator rule: a query that sees no unmasked key, or only keys whose e^{-k²}
 * underflowed, outputs 0 and passes no gradient. Nothing is ever NaN.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  centralDifferenceGradient,
  eaBackward,
  eaForward,
  isZeroDenominator,
  MIN_NORMAL_FLOAT64,
} from '../src/index.js';
import {
  ALL_ORDERS,
  dimsArb,
  expectClose,
  hasNaN,
  inputsOfDims,
  orderArb,
  PROPERTY_RUNS,
  SERIES_ORDERS,
  sliceRows,
} from './helpers.js';

function allZero(data: ArrayLike<number>): boolean {
  return Array.from(data).every((x) => x === 0);
}

describe('isZeroDenominator', () => {
  it('treats 0, subnormals and NaN as zero and normal numbers of either sign as non-zero', () => {
    for (const x of [0, -0, 1e-310, -1e-310, Number.MIN_VALUE, Number.NaN]) {
      expect(isZeroDenominator(x)).toBe(true);
    }
    for (const x of [MIN_NORMAL_FLOAT64, -MIN_NORMAL_FLOAT64, 1e-300, 1, -2]) {
      expect(isZeroDenominator(x)).toBe(false);
    }
  });
});

describe('no visible key', () => {
  it('a fully masked batch element outputs 0 and gets zero gradients; others are unaffected', () => {
    const caseArb = dimsArb({ maxLength: 5 })
      .map((d) => ({ ...d, batch: 2 }))
      .chain((dims) => fc.tuple(inputsOfDims(dims, { masked: true }), inputsOfDims(dims)));
    fc.assert(
      fc.property(caseArb, orderArb, fc.boolean(), ([inputs, random], order, wantCausal) => {
        const { queryLength: Lq, keyLength: L, channels: D } = inputs.dims;
        const causal = wantCausal && Lq === L;
        const mask = Float64Array.from(inputs.mask!, (m, index) => (index < L ? 0 : m));
        const hidden = { ...inputs, mask };
        const y = eaForward(hidden, { order, causal }).y;
        const grads = eaBackward(hidden, random.q, { order, causal });
        expect(allZero(sliceRows(y, Lq, D, 0, 0, Lq))).toBe(true);
        expect(allZero(sliceRows(grads.dq, Lq, D, 0, 0, Lq))).toBe(true);
        expect(allZero(sliceRows(grads.dk, L, D, 0, 0, L))).toBe(true);
        expect(allZero(sliceRows(grads.dv, L, D, 0, 0, L))).toBe(true);
        // Batch element 1 is computed as if alone.
        const second = (data: ArrayLike<number>, rows: number) =>
          Float64Array.from(sliceRows(data, rows, D, 1, 0, rows));
        const alone: AttentionInputs = {
          q: second(inputs.q, Lq),
          k: second(inputs.k, L),
          v: second(inputs.v, L),
          mask: mask.slice(L),
          dims: { ...inputs.dims, batch: 1 },
        };
        expect(sliceRows(y, Lq, D, 1, 0, Lq)).toEqual(
          Array.from(eaForward(alone, { order, causal }).y),
        );
      }),
      PROPERTY_RUNS,
    );
  });

  it('causal queries before the first unmasked key output 0, consistently with finite differences', () => {
    for (const order of ALL_ORDERS) {
      const inputs: AttentionInputs = {
        q: [0.3, -0.2, 0.5, 0.1],
        k: [0.4, 0.1, -0.6, 0.2],
        v: [1, 2, -1, 0.5],
        mask: [0, 0, 1, 1],
        dims: { batch: 1, queryLength: 4, keyLength: 4, channels: 1 },
      };
      const y = eaForward(inputs, { order, causal: true }).y;
      expect(y[0]).toBe(0);
      expect(y[1]).toBe(0);
      expect(y[2]).toBe(-1); // only key 2 visible
      const dy = [1, -2, 0.5, 1.5];
      const { dq, dk, dv } = eaBackward(inputs, dy, { order, causal: true });
      expect([dq[0], dq[1], dk[0], dk[1], dv[0], dv[1]]).toEqual([0, 0, 0, 0, 0, 0]);
      const loss = (q: Float64Array) =>
        eaForward({ ...inputs, q }, { order, causal: true }).y.reduce(
          (s, x, i) => s + x * dy[i],
          0,
        );
      expectClose(dq, centralDifferenceGradient(loss, Float64Array.from(inputs.q)), 1e-7);
    }
  });

  it('an empty-looking state with every key masked gives y = 0 and passes dFinalState through', () => {
    const inputs: AttentionInputs = {
      q: [0.5, 0.2],
      k: [0.1, 0.3],
      v: [1, 2],
      mask: [0, 0],
      dims: { batch: 1, queryLength: 2, keyLength: 2, channels: 1 },
    };
    const initialState = { s: [0, 0, 0], z: [0, 0, 0] };
    const dFinalState = { s: [1, 2, 3], z: [4, 5, 6] };
    const forward = eaForward(inputs, {
      order: 2,
      causal: true,
      initialState,
      returnFinalState: true,
    });
    expect(Array.from(forward.y)).toEqual([0, 0]);
    const grads = eaBackward(inputs, [1, 1], { order: 2, causal: true, initialState, dFinalState });
    expect(Array.from(grads.dq)).toEqual([0, 0]);
    expect(Array.from(grads.dInitialState!.s)).toEqual([1, 2, 3]);
    expect(Array.from(grads.dInitialState!.z)).toEqual([4, 5, 6]);
  });
});

describe('underflow of e^{-k²}', () => {
  const farKeys = (signs: number[]): AttentionInputs => ({
    q: [0.5, -1, 2],
    k: signs.map((s) => 30 * s),
    v: [1, -2, 3],
    dims: { batch: 1, queryLength: 3, keyLength: 3, channels: 1 },
  });

  it('series: keys with |k| ~ 30 contribute nothing, so y = 0 and all gradients are 0, not NaN', () => {
    for (const order of SERIES_ORDERS) {
      for (const causal of [false, true]) {
        const inputs = farKeys([1, -1, 1]);
        const y = eaForward(inputs, { order, causal }).y;
        expect(Array.from(y)).toEqual([0, 0, 0]);
        const grads = eaBackward(inputs, [1, 2, 3], { order, causal });
        for (const g of [grads.dq, grads.dk, grads.dv]) expect(allZero(g)).toBe(true);
      }
    }
  });

  it('series: underflowed keys among normal ones act as masked keys', () => {
    fc.assert(
      fc.property(
        dimsArb({ maxBatch: 1, maxChannels: 1 }).chain((dims) =>
          inputsOfDims(dims, { masked: true }),
        ),
        fc.constantFrom(...SERIES_ORDERS),
        (inputs, order) => {
          // Push every masked key far out instead of masking it.
          const far = {
            ...inputs,
            k: Float64Array.from(inputs.k, (k, j) => (inputs.mask![j] ? k : 30 + k)),
            mask: undefined,
          };
          expect(Array.from(eaForward(far, { order }).y)).toEqual(
            Array.from(eaForward(inputs, { order }).y),
          );
          const dy = Float64Array.from(inputs.q, (q) => 1 - q);
          const grads = eaBackward(far, dy, { order });
          expect(hasNaN(grads.dq) || hasNaN(grads.dk) || hasNaN(grads.dv)).toBe(false);
          Array.from(inputs.mask!).forEach((m, j) => {
            if (m === 0) expect([grads.dk[j], grads.dv[j]]).toEqual([0, 0]);
          });
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('series: subnormal denominators (|k| ~ 26.8) count as zero, with finite gradients', () => {
    const inputs: AttentionInputs = {
      // q = 0 reads Z_0 = Σ e^{-k²} alone, which is subnormal for these keys.
      q: [0, 0],
      k: [26.8, -26.9],
      v: [1, 0],
      dims: { batch: 1, queryLength: 2, keyLength: 2, channels: 1 },
    };
    expect(Math.exp(-(26.8 ** 2))).toBeGreaterThan(0);
    expect(Math.exp(-(26.8 ** 2))).toBeLessThan(MIN_NORMAL_FLOAT64);
    const y = eaForward(inputs, { order: 4 }).y;
    expect(Array.from(y)).toEqual([0, 0]);
    const grads = eaBackward(inputs, [1e6, -1e6], { order: 4 });
    for (const g of [grads.dq, grads.dk, grads.dv]) {
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
    }
  });

  it('exact: far-away q and k are computed stably (no underflow, same as shifted back)', () => {
    for (const causal of [false, true]) {
      const far = farKeys([1, 1, 1]);
      const shiftedQ = { ...far, q: Float64Array.from(far.q, (q) => q + 30) };
      const near = { ...far, k: [0, 0, 0] };
      const yFar = eaForward(shiftedQ, { order: 'exact', causal }).y;
      expect(hasNaN(yFar)).toBe(false);
      expectClose(yFar, eaForward(near, { order: 'exact', causal }).y, 1e-12);
      // Even a query far from every key still gets a weighted mean, not 0.
      const lonely = eaForward(far, { order: 'exact', causal }).y;
      expect(hasNaN(lonely)).toBe(false);
      expect(lonely[2]).not.toBe(0);
      const grads = eaBackward(far, [1, 1, 1], { order: 'exact', causal });
      for (const g of [grads.dq, grads.dk, grads.dv]) expect(hasNaN(g)).toBe(false);
    }
  });
});
