import { groupedForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GROUPED_BLOCK } from '../src/composite/grouped_blocks.js';
import { elementwiseAttention } from '../src/index.js';
import { expectClose, randomValues, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/**
 * Long causal grouped calls outside a gradient (a prompt's prefill) run in blocks that carry
 * the state: the same y and final state as the oracle's parallel form, in memory linear in L.
 */
describe.each(BACKENDS)('grouped EA in blocks on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  const [B, L, D, groupSize, order] = [2, 2 * GROUPED_BLOCK + 88, 4, 2, 2];
  const F = 6; // C(d + t, t) for d = 2, t = 2
  const data = {
    q: randomValues(B * L * D, 1, 0.7),
    k: randomValues(B * L * D, 2, 0.7),
    v: randomValues(B * L * D, 3, 1),
    // Padding in every block, and a whole masked block edge in the second sequence.
    mask: Float32Array.from({ length: B * L }, (_, i) =>
      i % 7 === 3 || (i > L + 250 && i < L + 262) ? 0 : 1,
    ),
    s0: randomValues(B * F * D, 4, 0.3),
    z0: randomValues((B * F * D) / groupSize, 5, 0.3).map((x) => 1 + Math.abs(x)),
  };
  const dims = { batch: B, queryLength: L, keyLength: L, channels: D };

  for (const withState of [false, true]) {
    it(`L = ${L}${withState ? ', from a state' : ''}: y and the final state equal the oracle`, async () => {
      const run = () =>
        tf.tidy(() => {
          const tensor = (x: Float32Array) => tf.tensor3d(x, [B, L, D]);
          const result = elementwiseAttention(tensor(data.q), tensor(data.k), tensor(data.v), {
            order,
            groupSize,
            causal: true,
            mask: tf.tensor2d(data.mask, [B, L]),
            returnFinalState: true,
            initialState: withState
              ? {
                  s: tf.tensor3d(data.s0, [B, F, D]),
                  z: tf.tensor3d(data.z0, [B, F, D / groupSize]),
                }
              : undefined,
          });
          return [result.y, result.finalState.s, result.finalState.z];
        });
      const before = tf.memory().numTensors;
      const [y, s, z] = run();
      const reference = groupedForward(
        { q: data.q, k: data.k, v: data.v, mask: data.mask, dims },
        {
          order,
          groupSize,
          causal: true,
          initialState: withState ? { s: data.s0, z: data.z0 } : undefined,
        },
      );
      expectClose(y, reference.y, 1e-5, 'y');
      expectClose(s, reference.finalState?.s ?? [], 1e-5, 'final s');
      expectClose(z, reference.finalState?.z ?? [], 1e-5, 'final z');
      tf.dispose([y, s, z]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('holds memory linear in L: the peak grows less than 1.5× from L to 2L (the parallel form: about 4×)', async () => {
    const peak = async (length: number) => {
      const profile = await tf.profile(() =>
        tf.tidy(() => {
          const x = tf.tensor3d(randomValues(length * D, 6, 0.7), [1, length, D]);
          return elementwiseAttention(x, x, x, { order, groupSize, causal: true }) as tf.Tensor;
        }),
      );
      (profile.result as tf.Tensor).dispose();
      return profile.peakBytes;
    };
    const [short, long] = [await peak(4 * GROUPED_BLOCK), await peak(8 * GROUPED_BLOCK)];
    expect(long / short).toBeLessThan(1.5);
  });

  it('under a gradient, runs the parallel form: the same y', () => {
    const shape: [number, number, number] = [1, L, D];
    const size = L * D;
    const [q, k, v] = [1, 2, 3].map((seed) => tf.tensor3d(randomValues(size, seed, 0.7), shape));
    const options = { order, groupSize, causal: true };
    const blocks = elementwiseAttention(q, k, v, options) as tf.Tensor;
    let parallel: tf.Tensor | undefined;
    const grads = tf.grads((a: tf.Tensor) => {
      const y = elementwiseAttention(a, k, v, options) as tf.Tensor;
      parallel = tf.keep(y.clone());
      return tf.sum(y);
    })([q]);
    const reference = blocks.dataSync();
    expectClose(parallel as tf.Tensor, Float64Array.from(reference), 1e-5, 'y');
    expect(grads[0].shape).toEqual(shape);
    tf.dispose([q, k, v, blocks, parallel as tf.Tensor, ...grads]);
  });
});
