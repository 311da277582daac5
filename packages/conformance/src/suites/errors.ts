import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import type { Kit } from '../kit.js';

/**
 * Bad input is rejected with the op's message, naming the argument, while the adapter's backend
 * is active: an adapter must not swallow or replace validation, nor leak when a call fails.
 */
export function errorsSuite(kit: Kit): void {
  describe('errors reach the user with the backend active', () => {
    const x = () => tf.zeros([2, 5, 4]);
    const attempt = (build: () => unknown) => () => tf.tidy(() => void build());
    const cases: [string, () => unknown, string][] = [
      [
        'odd order',
        () => elementwiseAttention(x(), x(), x(), { order: 3 }),
        "order must be an even integer >= 0 or 'exact', got 3",
      ],
      [
        'mismatched k',
        () => elementwiseAttention(x(), tf.zeros([3, 5, 4]), x()),
        'k must have shape [2, L, 4] to match q [2, 5, 4], got [3, 5, 4]',
      ],
      [
        'causal with Lq != L',
        () => elementwiseAttention(x(), tf.zeros([2, 7, 4]), tf.zeros([2, 7, 4]), { causal: true }),
        'causal attention needs as many queries as keys, got Lq = 5 and L = 7',
      ],
      [
        'non-float dtype',
        () => elementwiseAttention(tf.zeros([2, 5, 4], 'int32'), x(), x()),
        'q must have dtype float32, got int32',
      ],
      [
        'initial state of the wrong shape',
        () =>
          elementwiseAttention(x(), x(), x(), {
            order: 4,
            causal: true,
            initialState: { s: tf.zeros([2, 7, 4]), z: tf.zeros([2, 7, 4]) },
          }),
        'initialState.s must have shape [B, t+1, D] for order 4 = [2, 5, 4], got [2, 7, 4]',
      ],
      [
        "step with order 'exact'",
        () =>
          elementwiseAttentionStep(
            tf.zeros([2, 4]),
            tf.zeros([2, 4]),
            tf.zeros([2, 4]),
            { s: tf.zeros([2, 7, 4]), z: tf.zeros([2, 7, 4]) },
            { order: 'exact' as never },
          ),
        "order 'exact' has no recurrent form",
      ],
    ];
    for (const [name, build, message] of cases) {
      kit.test(name, () => {
        expect(attempt(build)).toThrow(message);
      });
    }
  });
}
