import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ElementwiseAttention,
  elementwiseAttention,
  elementwiseAttentionStep,
  zeroState,
} from '../src/index.js';
import { useBackend } from './helpers.js';
import './node_backends.js';

/** Every bad input of DESIGN.md §5 gets an Error naming the argument, the expectation and the value. */
describe('clear errors for bad input', () => {
  beforeAll(() => useBackend('cpu'));
  let start = 0;
  beforeEach(() => {
    start = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors, 'a failed call must not leak tensors').toBe(start);
  });

  const q = () => tf.zeros([2, 5, 4]);
  const call = (build: () => unknown) => () => tf.tidy(() => void build());

  it.each([
    [3, "order must be an even integer >= 0 or 'exact', got 3"],
    [-2, "order must be an even integer >= 0 or 'exact', got -2"],
    [2.5, 'got 2.5'],
    ['six', "got 'six'"],
    [Number.NaN, 'got NaN'],
  ])('order %s', (order, message) => {
    expect(call(() => elementwiseAttention(q(), q(), q(), { order: order as number }))).toThrow(
      message,
    );
  });

  it('rank', () => {
    expect(call(() => elementwiseAttention(tf.zeros([2, 5, 4, 1]), q(), q()))).toThrow(
      'elementwiseAttention: q must have shape [B, Lq, D] (or [Lq, D]), got [2, 5, 4, 1]',
    );
    expect(call(() => elementwiseAttention(tf.zeros([5, 4]), q(), q()))).toThrow(
      'k must have rank 2 [L, D] like q, got [2, 5, 4]',
    );
  });

  it('mismatched batch, channels and lengths', () => {
    expect(call(() => elementwiseAttention(q(), tf.zeros([3, 5, 4]), q()))).toThrow(
      'k must have shape [2, L, 4] to match q [2, 5, 4], got [3, 5, 4]',
    );
    expect(call(() => elementwiseAttention(q(), tf.zeros([2, 5, 3]), q()))).toThrow(
      'got [2, 5, 3]',
    );
    expect(call(() => elementwiseAttention(q(), q(), tf.zeros([2, 6, 4])))).toThrow(
      'v must have shape the shape of k = [2, 5, 4], got [2, 6, 4]',
    );
    expect(
      call(() =>
        elementwiseAttention(q(), tf.zeros([2, 7, 4]), tf.zeros([2, 7, 4]), { causal: true }),
      ),
    ).toThrow('causal attention needs as many queries as keys, got Lq = 5 and L = 7');
  });

  it('non-float dtype', () => {
    expect(call(() => elementwiseAttention(tf.zeros([2, 5, 4], 'int32'), q(), q()))).toThrow(
      'q must have dtype float32, got int32',
    );
    expect(call(() => elementwiseAttention(q(), q(), tf.zeros([2, 5, 4], 'bool')))).toThrow(
      'v must have dtype float32, got bool',
    );
  });

  it('empty sequences', () => {
    expect(call(() => elementwiseAttention(q(), tf.zeros([2, 0, 4]), tf.zeros([2, 0, 4])))).toThrow(
      'sequences must be non-empty, got q [2, 5, 4] and k [2, 0, 4]',
    );
    expect(call(() => elementwiseAttention(tf.zeros([2, 0, 4]), q(), q()))).toThrow(
      'sequences must be non-empty',
    );
  });

  it('mask of the wrong shape or dtype', () => {
    expect(call(() => elementwiseAttention(q(), q(), q(), { mask: tf.ones([2, 4]) }))).toThrow(
      'mask must have shape [B, L] = [2, 5], got [2, 4]',
    );
    expect(call(() => elementwiseAttention(q(), q(), q(), { mask: tf.ones([2, 5, 1]) }))).toThrow(
      'got [2, 5, 1]',
    );
    expect(call(() => elementwiseAttention(q(), q(), q(), { mask: tf.tensor([['a']]) }))).toThrow(
      'mask must be boolean or numeric, got dtype string',
    );
  });

  it('state of the wrong shape, or with exact order', () => {
    const s = tf.zeros([2, 7, 4]);
    expect(
      call(() =>
        elementwiseAttention(q(), q(), q(), {
          order: 4,
          causal: true,
          initialState: { s: tf.zeros([2, 7, 4]), z: tf.zeros([2, 7, 4]) },
        }),
      ),
    ).toThrow('initialState.s must have shape [B, t+1, D] for order 4 = [2, 5, 4], got [2, 7, 4]');
    expect(
      call(() =>
        elementwiseAttention(q(), q(), q(), { order: 6, initialState: { s, z: tf.zeros([2, 7]) } }),
      ),
    ).toThrow('initialState.z must have shape');
    expect(
      call(() =>
        elementwiseAttention(q(), q(), q(), { order: 'exact', initialState: { s, z: s } }),
      ),
    ).toThrow("initialState is only defined for series orders; order 'exact' has no state");
    s.dispose();
  });

  it('unknown options (typos)', () => {
    expect(call(() => elementwiseAttention(q(), q(), q(), { casual: true } as never))).toThrow(
      "unknown option 'casual'; expected one of order, causal, mask, initialState, returnFinalState",
    );
  });

  it('step: shapes, state and order', () => {
    const x = () => tf.zeros([2, 4]);
    const state = zeroState(6, 2, 4);
    expect(call(() => elementwiseAttentionStep(x(), tf.zeros([2, 3]), x(), state))).toThrow(
      'elementwiseAttentionStep: k must have shape [B, D] like q = [2, 4], got [2, 3]',
    );
    expect(call(() => elementwiseAttentionStep(x(), x(), x(), state, { order: 4 }))).toThrow(
      'state.s must have shape [B, t+1, D] for order 4 = [2, 5, 4], got [2, 7, 4]',
    );
    expect(
      call(() => elementwiseAttentionStep(x(), x(), x(), state, { order: 'exact' as never })),
    ).toThrow("order 'exact' has no recurrent form");
    expect(call(() => elementwiseAttentionStep(x(), x(), x(), state, { order: 5 }))).toThrow(
      'order must be an even integer >= 0, got 5',
    );
    expect(call(() => elementwiseAttentionStep(x(), x(), x(), null as never))).toThrow(
      'state must be {s, z}, got null',
    );
    tf.dispose([state.s, state.z]);
  });

  it('layer configuration and inputs', () => {
    expect(() => new ElementwiseAttention({ dModel: 0 })).toThrow(
      'dModel must be a positive integer, got 0',
    );
    expect(() => new ElementwiseAttention({ dModel: 4, order: 1 })).toThrow(
      "order must be an even integer >= 0 or 'exact', got 1",
    );
    expect(() => new ElementwiseAttention({ dModel: 4, casual: true } as never)).toThrow(
      "unknown option 'casual'",
    );
    const layer = new ElementwiseAttention({ dModel: 4, name: 'errors_layer' });
    const before = tf.memory().numTensors;
    expect(call(() => layer.apply(tf.zeros([2, 5, 3])))).toThrow(
      'ElementwiseAttention.apply: x must have shape [B, L, dModel] (or [L, dModel]) with dModel = 4, got [2, 5, 3]',
    );
    expect(() => layer.initState(2)).toThrow(
      'ElementwiseAttention.initState: needs a causal layer (construct it with causal: true)',
    );
    expect(() => layer.setWeights({})).toThrow(
      'weights must have exactly the names errors_layer/query/kernel',
    );
    const wrong = Object.fromEntries(
      Object.entries(layer.getWeights()).map(([n, w]) => [
        n,
        n.endsWith('bias') ? tf.zeros([3]) : w,
      ]),
    );
    expect(() => layer.setWeights(wrong)).toThrow(
      'errors_layer/query/bias must have shape [4], got [3]',
    );
    tf.dispose(
      Object.entries(wrong)
        .filter(([n]) => n.endsWith('bias'))
        .map(([, t]) => t),
    );
    expect(tf.memory().numTensors).toBe(before);
    layer.dispose();
    expect(call(() => layer.apply(tf.zeros([1, 1, 4])))).toThrow(
      "ElementwiseAttention 'errors_layer': has been disposed",
    );
  });
});
