import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  eaForward,
  maxAbsError,
  randomGenerator,
  relativeRmsError,
  taylorRelativeError,
} from '../src/index.js';
import {
  dimsArb,
  expectClose,
  inputsArb,
  inputsOfDims,
  orderArb,
  PROPERTY_RUNS,
  SERIES_ORDERS,
  sliceRows,
} from './helpers.js';

describe('causality', () => {
  it('output at i is unchanged by any change to q, k, v or mask after i', () => {
    const caseArb = dimsArb({ causal: true, maxLength: 7 }).chain((dims) =>
      fc.tuple(
        inputsOfDims(dims, { causal: true, masked: true }),
        inputsOfDims(dims, { causal: true, masked: true }),
        fc.integer({ min: 0, max: dims.keyLength - 1 }),
      ),
    );
    fc.assert(
      fc.property(caseArb, orderArb, ([original, other, cut], order) => {
        const { batch: B, keyLength: L, channels: D } = original.dims;
        // Positions 0..cut come from `original`, later ones from `other`.
        const splice = (a: ArrayLike<number>, b: ArrayLike<number>, width: number) =>
          Float64Array.from(a, (x, index) => (Math.floor(index / width) % L <= cut ? x : b[index]));
        const changed: AttentionInputs = {
          q: splice(original.q, other.q, D),
          k: splice(original.k, other.k, D),
          v: splice(original.v, other.v, D),
          mask: splice(original.mask!, other.mask!, 1),
          dims: original.dims,
        };
        const y0 = eaForward(original, { order, causal: true }).y;
        const y1 = eaForward(changed, { order, causal: true }).y;
        for (let b = 0; b < B; b++) {
          expect(sliceRows(y1, L, D, b, 0, cut + 1)).toEqual(sliceRows(y0, L, D, b, 0, cut + 1));
        }
      }),
      PROPERTY_RUNS,
    );
  });
});

describe('non-causal symmetries', () => {
  it('permuting the keys (with their values and mask) leaves the output unchanged', () => {
    const caseArb = dimsArb().chain((dims) =>
      fc.tuple(
        inputsOfDims(dims, { masked: true }),
        fc.shuffledSubarray(
          Array.from({ length: dims.keyLength }, (_, j) => j),
          { minLength: dims.keyLength, maxLength: dims.keyLength },
        ),
      ),
    );
    fc.assert(
      fc.property(caseArb, orderArb, ([inputs, permutation], order) => {
        const { batch: B, keyLength: L, channels: D } = inputs.dims;
        const permute = (data: ArrayLike<number>, width: number) => {
          const out = new Float64Array(data.length);
          for (let b = 0; b < B; b++) {
            for (let j = 0; j < L; j++) {
              for (let c = 0; c < width; c++) {
                out[(b * L + j) * width + c] = data[(b * L + permutation[j]) * width + c];
              }
            }
          }
          return out;
        };
        const permuted: AttentionInputs = {
          ...inputs,
          k: permute(inputs.k, D),
          v: permute(inputs.v, D),
          mask: permute(inputs.mask!, 1),
        };
        expectClose(eaForward(permuted, { order }).y, eaForward(inputs, { order }).y, 1e-13);
      }),
      PROPERTY_RUNS,
    );
  });

  it('masking keys is the same as removing them', () => {
    const caseArb = dimsArb({ maxBatch: 1 }).chain((dims) => inputsOfDims(dims, { masked: true }));
    fc.assert(
      fc.property(caseArb, orderArb, (inputs, order) => {
        const { queryLength: Lq, keyLength: L, channels: D } = inputs.dims;
        const kept = Array.from({ length: L }, (_, j) => j).filter((j) => inputs.mask![j] === 1);
        const y = eaForward(inputs, { order }).y;
        if (kept.length === 0) {
          // Nothing visible: the zero-denominator rule gives 0.
          expect(Array.from(y)).toEqual(new Array(Lq * D).fill(0));
          return;
        }
        const pick = (data: ArrayLike<number>) =>
          Float64Array.from(
            kept.flatMap((j) => Array.from({ length: D }, (_, c) => data[j * D + c])),
          );
        const removed: AttentionInputs = {
          q: inputs.q,
          k: pick(inputs.k),
          v: pick(inputs.v),
          dims: { ...inputs.dims, keyLength: kept.length },
        };
        expectClose(y, eaForward(removed, { order }).y, 1e-13);
      }),
      PROPERTY_RUNS,
    );
  });

  it('masking a suffix of the keys equals truncating the sequence', () => {
    const caseArb = dimsArb({ maxLength: 7 }).chain((dims) =>
      fc.tuple(inputsOfDims(dims), fc.integer({ min: 1, max: dims.keyLength })),
    );
    fc.assert(
      fc.property(caseArb, orderArb, ([inputs, keep], order) => {
        const { batch: B, keyLength: L, channels: D } = inputs.dims;
        const mask = Float64Array.from({ length: B * L }, (_, index) => (index % L < keep ? 1 : 0));
        const truncate = (data: ArrayLike<number>) =>
          Float64Array.from(
            Array.from({ length: B }, (_, b) => sliceRows(data, L, D, b, 0, keep)).flat(),
          );
        const truncated: AttentionInputs = {
          q: inputs.q,
          k: truncate(inputs.k),
          v: truncate(inputs.v),
          dims: { ...inputs.dims, keyLength: keep },
        };
        expectClose(
          eaForward({ ...inputs, mask }, { order }).y,
          eaForward(truncated, { order }).y,
          1e-13,
        );
      }),
      PROPERTY_RUNS,
    );
  });
});

describe('layout', () => {
  it('every (batch, channel) pair is an independent single-channel problem', () => {
    fc.assert(
      fc.property(
        inputsArb({ masked: true }),
        orderArb,
        fc.boolean(),
        (inputs, order, wantCausal) => {
          const { batch: B, queryLength: Lq, keyLength: L, channels: D } = inputs.dims;
          const causal = wantCausal && Lq === L;
          const y = eaForward(inputs, { order, causal }).y;
          for (let b = 0; b < B; b++) {
            for (let c = 0; c < D; c++) {
              const column = (data: ArrayLike<number>, rows: number) =>
                Float64Array.from({ length: rows }, (_, r) => data[(b * rows + r) * D + c]);
              const single: AttentionInputs = {
                q: column(inputs.q, Lq),
                k: column(inputs.k, L),
                v: column(inputs.v, L),
                mask: Array.from(inputs.mask!).slice(b * L, (b + 1) * L),
                dims: { batch: 1, queryLength: Lq, keyLength: L, channels: 1 },
              };
              expect(Array.from(eaForward(single, { order, causal }).y)).toEqual(
                Array.from(column(y, Lq)),
              );
            }
          }
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('outputs are weighted means: y(a v + b) = a y(v) + b, and y lies within the values seen', () => {
    fc.assert(
      fc.property(
        inputsArb(),
        orderArb,
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (inputs, order, scale, shift) => {
          const y = eaForward(inputs, { order }).y;
          const affine = { ...inputs, v: Float64Array.from(inputs.v, (x) => scale * x + shift) };
          expectClose(
            eaForward(affine, { order }).y,
            Float64Array.from(y, (x) => scale * x + shift),
            1e-12,
          );
          // Positive weights (even orders, exact) keep y inside [min v, max v].
          const lo = Math.min(...Array.from(inputs.v));
          const hi = Math.max(...Array.from(inputs.v));
          for (const value of y) {
            expect(value).toBeGreaterThanOrEqual(lo - 1e-12);
            expect(value).toBeLessThanOrEqual(hi + 1e-12);
          }
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('exact EA only depends on q - k: shifting both by the same constant changes nothing', () => {
    fc.assert(
      fc.property(
        inputsArb({ masked: true }),
        fc.double({ min: -40, max: 40, noNaN: true }),
        (inputs, shift) => {
          const shifted = {
            ...inputs,
            q: Float64Array.from(inputs.q, (x) => x + shift),
            k: Float64Array.from(inputs.k, (x) => x + shift),
          };
          expectClose(
            eaForward(shifted, { order: 'exact' }).y,
            eaForward(inputs, { order: 'exact' }).y,
            1e-9,
          );
        },
      ),
      PROPERTY_RUNS,
    );
  });
});

describe('convergence of the series to exact EA (|2qk| <= 2)', () => {
  /** Uniform random data from a seed: typical inputs rather than adversarial ones. */
  function uniformInputs(seed: number): AttentionInputs {
    const next = randomGenerator(seed);
    const B = 2;
    const L = 16;
    const D = 4;
    const draw = (range: number) =>
      Float64Array.from({ length: B * L * D }, () => range * (2 * next() - 1));
    return {
      q: draw(1),
      k: draw(1),
      v: draw(2),
      dims: { batch: B, queryLength: L, keyLength: L, channels: D },
    };
  }

  it('on typical inputs the error falls with every order and is < 1e-6 at order 12', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, causal) => {
        const inputs = uniformInputs(seed);
        const exact = eaForward(inputs, { order: 'exact', causal }).y;
        const errors: number[] = [];
        for (let order = 0; order <= 12; order += 2) {
          errors.push(relativeRmsError(exact, eaForward(inputs, { order, causal }).y));
        }
        for (let n = 1; n < errors.length; n++) expect(errors[n]).toBeLessThan(errors[n - 1]);
        expect(errors[6]).toBeLessThan(1e-6);
      }),
      PROPERTY_RUNS,
    );
  });

  it('on any inputs the error obeys the Taylor bound E_t / (1 - E_t) * (max v - min v)', () => {
    // Each series weight is the exact one times (1 + ε_j) with |ε_j| <= E_t, the relative error
    // of T_t on [-2, 2]; a weighted mean then moves by at most E_t/(1-E_t) times the value spread.
    const bounds = [6, 8, 10, 12].map((order) => ({
      order,
      relative: taylorRelativeError(order, -2, 2, 2001).max,
    }));
    fc.assert(
      fc.property(
        inputsArb({ range: 1, masked: true, maxLength: 8 }),
        fc.boolean(),
        (inputs, wantCausal) => {
          const causal = wantCausal && inputs.dims.queryLength === inputs.dims.keyLength;
          const exact = eaForward(inputs, { order: 'exact', causal }).y;
          const values = Array.from(inputs.v);
          const spread = Math.max(...values) - Math.min(...values);
          const magnitude = Math.max(...values.map(Math.abs));
          for (const { order, relative } of bounds) {
            const error = maxAbsError(exact, eaForward(inputs, { order, causal }).y);
            // The last term covers rounding where values are subnormal: there float64 rounds
            // to absolute multiples of Number.MIN_VALUE, which no relative term can express.
            expect(error).toBeLessThanOrEqual(
              (relative / (1 - relative)) * spread + 1e-14 * magnitude + 16 * Number.MIN_VALUE,
            );
          }
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('order 0 differs from exact EA when q varies (the test above can fail)', () => {
    const inputs = uniformInputs(7);
    const exact = eaForward(inputs, { order: 'exact' }).y;
    for (const order of SERIES_ORDERS) {
      expect(relativeRmsError(exact, eaForward(inputs, { order }).y)).toBeGreaterThan(1e-9);
    }
  });
});
