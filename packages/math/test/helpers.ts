/**
 * Shared generators and assertions for the test suite. Values are kept in ranges where the
 * series is well-behaved (|q|, |k| of order 1) unless a test says otherwise.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  type AttentionInputs,
  type Dims,
  eaForward,
  maxAbsError,
  type Order,
  type State64,
} from '../src/index.js';

export const SERIES_ORDERS = [0, 2, 4, 6, 8] as const;
export const ALL_ORDERS: readonly Order[] = ['exact', ...SERIES_ORDERS];

/** Runs per property: enough to meet the edge cases the arbitraries favour, quick on two cores. */
export const PROPERTY_RUNS = { numRuns: 30 };

/** Any order, series or exact. */
export const orderArb = fc.constantFrom<Order>(...ALL_ORDERS);

export interface CaseOptions {
  /** Causal cases have `queryLength == keyLength`. */
  readonly causal?: boolean;
  /** Add a random 0/1 key mask. */
  readonly masked?: boolean;
  readonly maxBatch?: number;
  readonly maxLength?: number;
  readonly maxChannels?: number;
  /** `q` and `k` are drawn from `[-range, range]`. */
  readonly range?: number;
  /** `v` is drawn from `[-valueRange, valueRange]`. */
  readonly valueRange?: number;
}

export function valuesArb(length: number, range: number): fc.Arbitrary<Float64Array> {
  return fc.float64Array({
    min: -range,
    max: range,
    noNaN: true,
    minLength: length,
    maxLength: length,
  });
}

export function dimsArb(options: CaseOptions = {}): fc.Arbitrary<Dims> {
  const { causal = false, maxBatch = 2, maxLength = 6, maxChannels = 3 } = options;
  return fc
    .record({
      batch: fc.integer({ min: 1, max: maxBatch }),
      queryLength: fc.integer({ min: 1, max: maxLength }),
      keyLength: fc.integer({ min: 1, max: maxLength }),
      channels: fc.integer({ min: 1, max: maxChannels }),
    })
    .map((d) => (causal ? { ...d, queryLength: d.keyLength } : d));
}

export function maskArb(length: number): fc.Arbitrary<Float64Array> {
  return fc
    .array(fc.constantFrom(0, 1), { minLength: length, maxLength: length })
    .map((m) => Float64Array.from(m));
}

/** Random inputs of the given dims. */
export function inputsOfDims(dims: Dims, options: CaseOptions = {}): fc.Arbitrary<AttentionInputs> {
  const { masked = false, range = 1.5, valueRange = 2 } = options;
  const { batch: B, queryLength: Lq, keyLength: L, channels: D } = dims;
  return fc
    .record({
      q: valuesArb(B * Lq * D, range),
      k: valuesArb(B * L * D, range),
      v: valuesArb(B * L * D, valueRange),
      mask: masked ? maskArb(B * L) : fc.constant(undefined),
    })
    .map(({ q, k, v, mask }) => (mask ? { q, k, v, mask, dims } : { q, k, v, dims }));
}

export function inputsArb(options: CaseOptions = {}): fc.Arbitrary<AttentionInputs> {
  return dimsArb(options).chain((dims) => inputsOfDims(dims, options));
}

/**
 * A state that real keys could have produced: the final state of `extraKeys` random keys per
 * batch element. Keeps the series denominators positive, as they are in practice.
 */
export function stateArb(order: number, batch: number, channels: number): fc.Arbitrary<State64> {
  return fc.integer({ min: 1, max: 3 }).chain((extraKeys) =>
    inputsOfDims({ batch, queryLength: 1, keyLength: extraKeys, channels }).map((inputs) => {
      const { finalState } = eaForward(inputs, { order, returnFinalState: true });
      return finalState as State64;
    }),
  );
}

/** Rows `from..to-1` of batch element `b` of a `[B, rows, D]` array. */
export function sliceRows(
  data: ArrayLike<number>,
  rows: number,
  channels: number,
  b: number,
  from: number,
  to: number,
): number[] {
  return Array.from(data).slice((b * rows + from) * channels, (b * rows + to) * channels);
}

/** Asserts `got` matches `expected` to `tolerance`, scaled by the size of `expected`. */
export function expectClose(
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = 1e-12,
): void {
  expect(got.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const error = maxAbsError(expected, got);
  expect(error, `max abs error ${error} (scale ${scale})`).toBeLessThanOrEqual(tolerance * scale);
}

export function hasNaN(data: ArrayLike<number>): boolean {
  return Array.from(data).some((x) => Number.isNaN(x));
}
