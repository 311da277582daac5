import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention, elementwiseAttentionStep, zeroState } from '../src/index.js';
import { useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/**
 * The op's checks of `groupSize`. Outputs, states, steps and gradients of the grouped form are
 * compared with the oracle by @elementwise/conformance (suites/grouped.ts) on every backend.
 */
describe.each(BACKENDS)('groupSize checks on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('names the argument, the expectation and what was given', () => {
    const x = tf.zeros([1, 3, 6]);
    expect(() => elementwiseAttention(x, x, x, { groupSize: 4 })).toThrow(
      'elementwiseAttention: options.groupSize must divide the channel count D = 6, got 4',
    );
    expect(() => elementwiseAttention(x, x, x, { groupSize: 1.5 })).toThrow(
      'elementwiseAttention: options.groupSize must be an integer >= 1, got 1.5',
    );
    expect(() => elementwiseAttention(x, x, x, { groupSize: 32, order: 8 })).toThrow(
      /needs C\(d \+ t, t\) = 76904685 Taylor features per channel, more than 4096/,
    );
    const state = zeroState(2, 1, 6, 3);
    expect(() =>
      elementwiseAttentionStep(tf.zeros([1, 6]), tf.zeros([1, 6]), tf.zeros([1, 6]), state, {
        order: 2,
        groupSize: 2,
      }),
    ).toThrow(/state.s must have shape \[B, F, D\] for order 2 and groupSize 2/);
    tf.dispose([x, state.s, state.z]);
  });
});
