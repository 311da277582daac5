import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { elementwiseAttention, elementwiseAttentionStep, zeroState } from '../src/index.js';
import { refusedCall, refusedCallsLeakNothing } from './helpers.js';
import './node_backends.js';

/** Every bad input of DESIGN.md §5 gets an Error naming the argument, the expectation and the value. */
describe('clear errors for bad input', () => {
  refusedCallsLeakNothing('cpu');

  const q = () => tf.zeros([2, 5, 4]);

  it.each([
    [3, "order must be an even integer >= 0 or 'exact', got 3"],
    [-2, "order must be an even integer >= 0 or 'exact', got -2"],
    [2.5, 'got 2.5'],
    ['six', "got 'six'"],
    [Number.NaN, 'got NaN'],
  ])('order %s', (order, message) => {
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { order: order as number })),
    ).toThrow(message);
  });

  it('rank', () => {
    expect(refusedCall(() => elementwiseAttention(tf.zeros([2, 5, 4, 1]), q(), q()))).toThrow(
      'elementwiseAttention: q must have shape [B, Lq, D] (or [Lq, D]), got [2, 5, 4, 1]',
    );
    expect(refusedCall(() => elementwiseAttention(tf.zeros([5, 4]), q(), q()))).toThrow(
      'k must have rank 2 [L, D] like q, got [2, 5, 4]',
    );
  });

  it('mismatched batch, channels and lengths', () => {
    expect(refusedCall(() => elementwiseAttention(q(), tf.zeros([3, 5, 4]), q()))).toThrow(
      'k must have shape [2, L, 4] to match q [2, 5, 4], got [3, 5, 4]',
    );
    expect(refusedCall(() => elementwiseAttention(q(), tf.zeros([2, 5, 3]), q()))).toThrow(
      'got [2, 5, 3]',
    );
    expect(refusedCall(() => elementwiseAttention(q(), q(), tf.zeros([2, 6, 4])))).toThrow(
      'v must have shape the shape of k = [2, 5, 4], got [2, 6, 4]',
    );
    expect(
      refusedCall(() =>
        elementwiseAttention(q(), tf.zeros([2, 7, 4]), tf.zeros([2, 7, 4]), { causal: true }),
      ),
    ).toThrow('causal attention needs as many queries as keys, got Lq = 5 and L = 7');
  });

  it('non-float dtype', () => {
    expect(refusedCall(() => elementwiseAttention(tf.zeros([2, 5, 4], 'int32'), q(), q()))).toThrow(
      'q must have dtype float32, got int32',
    );
    expect(refusedCall(() => elementwiseAttention(q(), q(), tf.zeros([2, 5, 4], 'bool')))).toThrow(
      'v must have dtype float32, got bool',
    );
  });

  it('empty sequences', () => {
    expect(
      refusedCall(() => elementwiseAttention(q(), tf.zeros([2, 0, 4]), tf.zeros([2, 0, 4]))),
    ).toThrow('sequences must be non-empty, got q [2, 5, 4] and k [2, 0, 4]');
    expect(refusedCall(() => elementwiseAttention(tf.zeros([2, 0, 4]), q(), q()))).toThrow(
      'sequences must be non-empty',
    );
  });

  it('mask of the wrong shape or dtype', () => {
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: tf.ones([2, 4]) })),
    ).toThrow('mask must have shape [B, L] = [2, 5], got [2, 4]');
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: tf.ones([2, 5, 1]) })),
    ).toThrow('got [2, 5, 1]');
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: tf.tensor([['a']]) })),
    ).toThrow('mask must be boolean or numeric, got dtype string');
  });

  it('state of the wrong shape, or with exact order', () => {
    const s = tf.zeros([2, 7, 4]);
    expect(
      refusedCall(() =>
        elementwiseAttention(q(), q(), q(), {
          order: 4,
          causal: true,
          initialState: { s: tf.zeros([2, 7, 4]), z: tf.zeros([2, 7, 4]) },
        }),
      ),
    ).toThrow('initialState.s must have shape [B, t+1, D] for order 4 = [2, 5, 4], got [2, 7, 4]');
    expect(
      refusedCall(() =>
        elementwiseAttention(q(), q(), q(), { order: 6, initialState: { s, z: tf.zeros([2, 7]) } }),
      ),
    ).toThrow('initialState.z must have shape');
    expect(
      refusedCall(() =>
        elementwiseAttention(q(), q(), q(), { order: 'exact', initialState: { s, z: s } }),
      ),
    ).toThrow("initialState is only defined for series orders; order 'exact' has no state");
    s.dispose();
  });

  it('unknown options (typos)', () => {
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { casual: true } as never)),
    ).toThrow(
      "unknown option 'casual'; expected one of order, causal, mask, initialState, returnFinalState, groupSize",
    );
  });

  it('step: shapes, state and order', () => {
    const x = () => tf.zeros([2, 4]);
    const state = zeroState(6, 2, 4);
    expect(refusedCall(() => elementwiseAttentionStep(x(), tf.zeros([2, 3]), x(), state))).toThrow(
      'elementwiseAttentionStep: k must have shape [B, D] like q = [2, 4], got [2, 3]',
    );
    expect(refusedCall(() => elementwiseAttentionStep(x(), x(), x(), state, { order: 4 }))).toThrow(
      'state.s must have shape [B, t+1, D] for order 4 = [2, 5, 4], got [2, 7, 4]',
    );
    expect(
      refusedCall(() =>
        elementwiseAttentionStep(x(), x(), x(), state, { order: 'exact' as never }),
      ),
    ).toThrow("order 'exact' has no recurrent form");
    expect(refusedCall(() => elementwiseAttentionStep(x(), x(), x(), state, { order: 5 }))).toThrow(
      'order must be an even integer >= 0, got 5',
    );
    expect(refusedCall(() => elementwiseAttentionStep(x(), x(), x(), null as never))).toThrow(
      'state must be {s, z}, got null',
    );
    tf.dispose([state.s, state.z]);
  });

  const OP_OPTIONS = 'order, causal, mask, initialState, returnFinalState, groupSize';

  it.each([
    [true, 'got true'],
    [4, 'got 4'],
    [null, 'got null'],
    ['causal', "got 'causal'"],
    [[], 'got an array of length 0'],
  ])('options passed positionally (%s) are refused, not read as defaults', (options, got) => {
    expect(refusedCall(() => elementwiseAttention(q(), q(), q(), options as never))).toThrow(
      `elementwiseAttention: options must be an object with any of ${OP_OPTIONS}, ${got}`,
    );
  });

  it('option values of the wrong type', () => {
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { causal: 'yes' as never })),
    ).toThrow("elementwiseAttention: options.causal must be a boolean, got 'yes'");
    expect(refusedCall(() => elementwiseAttention(q(), q(), q(), { causal: 1 as never }))).toThrow(
      'elementwiseAttention: options.causal must be a boolean, got 1',
    );
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { returnFinalState: 'no' as never })),
    ).toThrow("elementwiseAttention: options.returnFinalState must be a boolean, got 'no'");
  });

  it('step options: not an object, unknown names', () => {
    const x = () => tf.zeros([2, 4]);
    const state = zeroState(6, 2, 4);
    expect(refusedCall(() => elementwiseAttentionStep(x(), x(), x(), state, 4 as never))).toThrow(
      'elementwiseAttentionStep: options must be an object with any of order, groupSize, got 4',
    );
    expect(
      refusedCall(() => elementwiseAttentionStep(x(), x(), x(), state, { causal: true } as never)),
    ).toThrow(
      "elementwiseAttentionStep: unknown option 'causal'; expected one of order, groupSize",
    );
    tf.dispose([state.s, state.z]);
  });

  it('masks that are not a tensor or an array, disposed or ragged', () => {
    expect(refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: {} as never }))).toThrow(
      'elementwiseAttention: mask must be a tf.Tensor or a nested array of numbers or booleans, got an object',
    );
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: 'all' as never })),
    ).toThrow("mask must be a tf.Tensor or a nested array of numbers or booleans, got 'all'");
    const disposed = tf.ones([2, 5]);
    disposed.dispose();
    expect(refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: disposed }))).toThrow(
      'elementwiseAttention: mask has been disposed',
    );
    const ragged = [
      [1, 1, 1, 1, 1],
      [1, 0],
    ];
    expect(refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: ragged }))).toThrow(
      'elementwiseAttention: mask is a ragged nested array: mask[1] has shape [2] where mask[0] has shape [5]',
    );
    expect(
      refusedCall(() => elementwiseAttention(q(), q(), q(), { mask: [[1, 1, 1, 1, {}]] as never })),
    ).toThrow('mask[0][4] must be a number or a boolean, got an object');
  });

  it('ragged nested arrays are refused, even where the number of values fits a shape', () => {
    expect(refusedCall(() => elementwiseAttention([[1, 2], [3]], [[1, 2]], [[1, 2]]))).toThrow(
      'elementwiseAttention: q is a ragged nested array: q[1] has shape [1] where q[0] has shape [2]',
    );
    // 3 values, read by tf.tensor as [[1], [2], [3]] after its first-element shape [3, 1].
    expect(
      refusedCall(() => elementwiseAttention([[1]], [[1], [2, 3], []], [[1], [2], [3]])),
    ).toThrow('k is a ragged nested array: k[1] has shape [2] where k[0] has shape [1]');
    expect(
      refusedCall(() => elementwiseAttention([[[1], [2]], [[3]]], [[[1], [2]]], [[[1], [2]]])),
    ).toThrow('q is a ragged nested array: q[1] has shape [1, 1] where q[0] has shape [2, 1]');
    expect(
      refusedCall(() => elementwiseAttention([[1, 'a']] as never, [[1, 2]], [[1, 2]])),
    ).toThrow("elementwiseAttention: q[0][1] must be a number, got 'a'");
    expect(
      refusedCall(() => elementwiseAttention(q(), { shape: [2, 5, 4] } as never, q())),
    ).toThrow(
      'elementwiseAttention: k must be a tf.Tensor or a nested array of numbers, got an object',
    );
  });

  it('rectangular nested arrays and typed-array rows still give the tensor answer', () => {
    const rows = [
      [0.1, -0.2],
      [0.3, 0.4],
      [-0.5, 0.6],
    ];
    const typed = rows.map((row) => Float32Array.from(row));
    const fromTensors = tf.tidy(() => {
      const x = tf.tensor2d(rows);
      return elementwiseAttention(x, x, x, { causal: true, mask: [1, 0, 1] }).arraySync();
    });
    const fromArrays = tf.tidy(() =>
      elementwiseAttention(rows, typed, rows, {
        causal: true,
        mask: [true, false, true],
      }).arraySync(),
    );
    expect(fromArrays).toEqual(fromTensors);
  });
});
