import { forwardInputNames, kernelRecordFields, stepInputNames } from '@elementwise/attention';
import { eaForward, randomNormal, relativeRmsError } from '@elementwise/math';
import { describe, expect, it } from 'vitest';
import { NATIVE_FORMS } from '../src/kernels.js';
import { type ForwardRecord, nativeAddon } from '../src/native.js';

// The addon takes one record per kernel call whose fields carry the kernel contract's names
// (DESIGN.md §4), never a list of positional arguments.

const sizes = ['batch', 'queries', 'keys', 'channels'];
const attrs = ['order', 'causal'];
const contract = {
  forward: [...forwardInputNames, 'y', 'finalS', 'finalZ', ...sizes, ...attrs],
  backward: [
    ...forwardInputNames,
    'dy',
    'dFinalS',
    'dFinalZ',
    'dq',
    'dk',
    'dv',
    'dInitialS',
    'dInitialZ',
    ...sizes,
    ...attrs,
  ],
  step: [...stepInputNames, 'y', 'nextS', 'nextZ', 'batch', 'channels', 'order'],
};
type KernelFunction = keyof typeof contract;
const kernelNames: Record<KernelFunction, string> = {
  forward: 'ElementwiseAttentionForward',
  backward: 'ElementwiseAttentionBackward',
  step: 'ElementwiseAttentionStep',
};

const [B, Lq, L, D, order] = [2, 5, 7, 3, 2];
const T = order + 1;

/** A valid record of each kernel, non-causal (so Lq and L differ). */
function validRecord(fn: KernelFunction): Record<string, unknown> {
  const array = (size: number, seed: number) => randomNormal(size, seed);
  const state = (seed: number) => array(B * T * D, seed).map(Math.abs);
  const forwardInputs = {
    q: array(B * Lq * D, 1),
    k: array(B * L * D, 2),
    v: array(B * L * D, 3),
    mask: new Float32Array(B * L).fill(1),
    initialS: state(4),
    initialZ: state(5),
  };
  const scalars = { batch: B, queries: Lq, keys: L, channels: D, order, causal: false };
  if (fn === 'forward') {
    return {
      ...scalars,
      ...forwardInputs,
      y: new Float32Array(B * Lq * D),
      finalS: new Float32Array(B * T * D),
      finalZ: new Float32Array(B * T * D),
    };
  }
  if (fn === 'backward') {
    return {
      ...scalars,
      ...forwardInputs,
      dy: array(B * Lq * D, 6),
      dFinalS: array(B * T * D, 7),
      dFinalZ: array(B * T * D, 8),
      dq: new Float32Array(B * Lq * D),
      dk: new Float32Array(B * L * D),
      dv: new Float32Array(B * L * D),
      dInitialS: new Float32Array(B * T * D),
      dInitialZ: new Float32Array(B * T * D),
    };
  }
  return {
    batch: B,
    channels: D,
    order,
    q: array(B * D, 1),
    k: array(B * D, 2),
    v: array(B * D, 3),
    s: state(4),
    z: state(5),
    y: new Float32Array(B * D),
    nextS: new Float32Array(B * T * D),
    nextZ: new Float32Array(B * T * D),
  };
}

const call = (fn: KernelFunction, record: Record<string, unknown>) =>
  nativeAddon()[fn](record as never);

describe('the native kernels take one record of named fields', () => {
  it('the addon reads exactly the contract names of each kernel', () => {
    expect(nativeAddon().fields).toEqual(contract);
    for (const fn of Object.keys(contract) as KernelFunction[]) {
      expect(kernelRecordFields(fn), fn).toEqual(contract[fn]);
    }
  });

  it('the package registers exactly the kernels the addon runs', () => {
    expect([...NATIVE_FORMS].sort()).toEqual(Object.keys(nativeAddon().fields).sort());
  });

  for (const fn of Object.keys(contract) as KernelFunction[]) {
    it(`${fn}: a record missing any one field is refused, naming the kernel and the field`, () => {
      expect(() => call(fn, validRecord(fn))).not.toThrow();
      for (const field of contract[fn]) {
        const { [field]: _, ...record } = validRecord(fn);
        expect(() => call(fn, record), field).toThrow(
          `${kernelNames[fn]}: field '${field}' must be`,
        );
        expect(() => call(fn, record), field).toThrow('got no such field');
      }
    });
  }

  it('a misspelled field is refused under the name the kernel expects', () => {
    const { initialS, ...record } = validRecord('forward');
    expect(() => call('forward', { ...record, initalS: initialS })).toThrow(
      "ElementwiseAttentionForward: field 'initialS' must be a Float32Array of 18 elements, got no such field",
    );
  });

  it('an array of the wrong length or type is refused with what was expected and given, writing nothing', () => {
    const record = validRecord('forward');
    const y = record.y as Float32Array;
    y.fill(7);
    // q [B,Lq,D] and k [B,L,D] swapped: both Float32Arrays, of different lengths.
    expect(() => call('forward', { ...record, q: record.k, k: record.q })).toThrow(
      "ElementwiseAttentionForward: field 'q' must be a Float32Array of 30 elements, got a Float32Array of 42 elements",
    );
    expect(() => call('forward', { ...record, mask: new Float64Array(B * L) })).toThrow(
      "field 'mask' must be a Float32Array of 14 elements, got a Float64Array of 14 elements",
    );
    expect(() => call('forward', { ...record, order: 3 })).toThrow(
      "field 'order' must be an even integer >= 0 or 'exact', got the number 3",
    );
    expect(() => call('forward', { ...record, causal: true })).toThrow(
      "field 'queries' must be equal to keys (7) when causal, got the number 5",
    );
    expect(() => call('step', { ...validRecord('step'), order: 'exact' })).toThrow(
      "ElementwiseAttentionStep: field 'order' must be an even integer >= 0, got the string 'exact'",
    );
    const stepWithArguments = nativeAddon().step as (...args: unknown[]) => void;
    expect(() => stepWithArguments(record.q, record.k)).toThrow(
      'ElementwiseAttentionStep: expected one record of named fields, got 2 argument(s)',
    );
    expect(Array.from(y).every((value) => value === 7)).toBe(true);
  });

  it('fields are found by name: any key order gives the same result, and swapping k and v swaps the values used', () => {
    const zeros = new Float32Array(B * T * D);
    const record = { ...validRecord('forward'), initialS: zeros, initialZ: zeros };
    const { q, k, v } = record as ForwardRecord;
    const run = (fields: Record<string, unknown>) => {
      const out = {
        y: new Float32Array(B * Lq * D),
        finalS: new Float32Array(B * T * D),
        finalZ: new Float32Array(B * T * D),
      };
      call('forward', { ...fields, ...out });
      return out;
    };
    const inOrder = run(record);
    const reversed = run(Object.fromEntries(Object.entries(record).reverse()));
    expect(reversed).toEqual(inOrder);

    const oracle = (keys: Float32Array, values: Float32Array) =>
      eaForward(
        { q, k: keys, v: values, dims: { batch: B, queryLength: Lq, keyLength: L, channels: D } },
        { order, causal: false },
      ).y;
    // k and v have the same length, so a positional mix-up would pass every check: the result
    // follows the values under each name.
    expect(relativeRmsError(oracle(k, v), inOrder.y)).toBeLessThan(1e-5);
    const swapped = run({ ...record, k: v, v: k });
    expect(relativeRmsError(oracle(v, k), swapped.y)).toBeLessThan(1e-5);
    expect(relativeRmsError(oracle(k, v), swapped.y)).toBeGreaterThan(1e-2);
  });
});
