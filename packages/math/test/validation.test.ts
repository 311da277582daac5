import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  eaBackward,
  eaForward,
  eaStep,
  eaStepBackward,
} from '../src/index.js';

/** B = 2, Lq = 3, L = 4, D = 2 */
const dims = { batch: 2, queryLength: 3, keyLength: 4, channels: 2 };
const good: AttentionInputs = {
  q: new Float64Array(12).fill(0.1),
  k: new Float64Array(16).fill(0.2),
  v: new Float64Array(16).fill(0.3),
  dims,
};

describe('eaForward input validation', () => {
  it('accepts consistent inputs', () => {
    expect(eaForward(good, { order: 2 }).y).toHaveLength(12);
    expect(eaForward({ ...good, q: Array.from(good.q) }, { order: 'exact' }).y).toHaveLength(12);
  });

  it('rejects arrays whose length does not match dims, naming the argument', () => {
    expect(() => eaForward({ ...good, q: new Float64Array(11) }, { order: 2 })).toThrow(
      'q must have length B*Lq*D = 2*3*2 = 12, got length 11',
    );
    expect(() => eaForward({ ...good, k: new Float64Array(12) }, { order: 2 })).toThrow(
      'k must have length B*L*D = 2*4*2 = 16, got length 12',
    );
    expect(() => eaForward({ ...good, v: new Float64Array(17) }, { order: 'exact' })).toThrow(
      'v must have length B*L*D = 2*4*2 = 16, got length 17',
    );
    expect(() => eaForward({ ...good, mask: [1, 1, 1] }, { order: 2 })).toThrow(
      'mask must have length B*L = 2*4 = 8, got length 3',
    );
  });

  it('rejects missing arrays, non-finite values and non-0/1 masks', () => {
    const noK = { ...good, k: undefined } as unknown as AttentionInputs;
    expect(() => eaForward(noK, { order: 2 })).toThrow(
      'k must be an array or typed array, got undefined',
    );
    const nanQ = Float64Array.from(good.q);
    nanQ[5] = Number.NaN;
    expect(() => eaForward({ ...good, q: nanQ }, { order: 2 })).toThrow(
      'q must contain only finite numbers, got NaN at index 5',
    );
    const mask = new Float64Array(8).fill(1);
    mask[2] = 0.5;
    expect(() => eaForward({ ...good, mask }, { order: 2 })).toThrow(
      'mask must contain only 0 and 1, got 0.5 at index 2',
    );
  });

  it('rejects bad dims, including empty sequences', () => {
    expect(() => eaForward({ ...good, dims: { ...dims, keyLength: 0 } }, { order: 2 })).toThrow(
      'dims.keyLength must be an integer >= 1, got 0',
    );
    expect(() => eaForward({ ...good, dims: { ...dims, batch: 1.5 } }, { order: 2 })).toThrow(
      'dims.batch must be an integer >= 1, got 1.5',
    );
    const noDims = { ...good, dims: undefined } as unknown as AttentionInputs;
    expect(() => eaForward(noDims, { order: 2 })).toThrow('dims must be an object, got undefined');
  });

  it('rejects odd, negative and unknown orders', () => {
    expect(() => eaForward(good, { order: 3 })).toThrow(
      "order must be an even integer >= 0 or 'exact', got 3",
    );
    expect(() => eaForward(good, { order: -2 })).toThrow('got -2');
    expect(() => eaForward(good, { order: 'fast' as never })).toThrow("got 'fast'");
  });

  it('causal attention needs as many queries as keys', () => {
    expect(() => eaForward(good, { order: 2, causal: true })).toThrow(
      'causal attention needs dims.queryLength == dims.keyLength, got queryLength 3 and keyLength 4',
    );
    expect(() => eaForward(good, { order: 2, causal: 'yes' as never })).toThrow(
      "options.causal must be a boolean, got 'yes'",
    );
  });

  it('checks the initial state shape and refuses state for exact EA', () => {
    const state = { s: new Float64Array(2 * 3 * 2), z: new Float64Array(2 * 3 * 2) };
    expect(() => eaForward(good, { order: 2, initialState: state })).not.toThrow();
    expect(() => eaForward(good, { order: 4, initialState: state })).toThrow(
      'initialState.s must have length B*(t+1)*D = 2*5*2 = 20, got length 12',
    );
    expect(() =>
      eaForward(good, { order: 2, initialState: { ...state, z: new Float64Array(3) } }),
    ).toThrow('initialState.z must have length');
    expect(() => eaForward(good, { order: 'exact', initialState: state })).toThrow(
      "initialState needs a series order (the state holds series moments), got order 'exact'",
    );
    expect(() => eaForward(good, { order: 'exact', returnFinalState: true })).toThrow(
      "returnFinalState needs a series order (exact EA has no finite state), got order 'exact'",
    );
  });
});

describe('eaBackward input validation', () => {
  it('checks dy and dFinalState', () => {
    expect(() => eaBackward(good, new Float64Array(10), { order: 2 })).toThrow(
      'dy must have length B*Lq*D = 2*3*2 = 12, got length 10',
    );
    const dy = new Float64Array(12);
    expect(() =>
      eaBackward(good, dy, {
        order: 2,
        dFinalState: { s: new Float64Array(1), z: new Float64Array(12) },
      }),
    ).toThrow('dFinalState.s must have length B*(t+1)*D = 2*3*2 = 12, got length 1');
    const state = { s: new Float64Array(12), z: new Float64Array(12) };
    expect(() => eaBackward(good, dy, { order: 'exact', dFinalState: state })).toThrow(
      "dFinalState needs a series order (exact EA has no finite state), got order 'exact'",
    );
    expect(() => eaBackward(good, dy, { order: 5 })).toThrow('got 5');
  });
});

describe('eaStep input validation', () => {
  const state = { s: new Float64Array(2 * 3 * 2), z: new Float64Array(2 * 3 * 2) };
  const token = new Float64Array(4);
  const options = { order: 2, batch: 2, channels: 2 };

  it('checks token shapes, state shape and order', () => {
    expect(eaStep(token, token, token, state, options).y).toHaveLength(4);
    expect(() => eaStep(new Float64Array(3), token, token, state, options)).toThrow(
      'q must have length B*D = 2*2 = 4, got length 3',
    );
    expect(() => eaStep(token, token, new Float64Array(5), state, options)).toThrow(
      'v must have length B*D = 2*2 = 4, got length 5',
    );
    expect(() => eaStep(token, token, token, state, { ...options, order: 4 })).toThrow(
      'state.s must have length B*(t+1)*D = 2*5*2 = 20, got length 12',
    );
    expect(() =>
      eaStep(token, token, token, state, { ...options, order: 'exact' as never }),
    ).toThrow("order must be an even integer >= 0, got 'exact'");
    expect(() => eaStep(token, token, token, state, { ...options, batch: 0 })).toThrow(
      'batch must be an integer >= 1, got 0',
    );
    expect(() => eaStepBackward(token, token, token, state, new Float64Array(2), options)).toThrow(
      'dy must have length B*Lq*D = 2*1*2 = 4, got length 2',
    );
  });
});
