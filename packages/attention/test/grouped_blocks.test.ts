import { groupedForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GROUPED_BLOCK } from '../src/composite/grouped_blocks.js';
import { QUERY_BLOCK } from '../src/composite/grouped_weights.js';
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

  for (const causal of [true, false]) {
    it(`under a gradient, in blocks of ${QUERY_BLOCK} queries (causal ${causal}): y and the gradients along random directions match the oracle`, () => {
      const length = 2 * QUERY_BLOCK + 5;
      const size = length * D;
      const shape: [number, number, number] = [1, length, D];
      const values = [11, 12, 13, 14].map((seed) => randomValues(size, seed, 0.8));
      const directions = [15, 16, 17].map((seed) => randomValues(size, seed, 1));
      const mask = Float32Array.from({ length }, (_, i) => (i % 9 === 4 ? 0 : 1));
      const options = { order, groupSize, causal };
      const dims = { batch: 1, queryLength: length, keyLength: length, channels: D };
      const [g] = [values[3]];
      const before = tf.memory().numTensors;
      const [y, ...grads] = tf.tidy(() => {
        const [q, k, v] = values.slice(0, 3).map((x) => tf.tensor3d(x, shape));
        const m = tf.tensor2d(mask, [1, length]);
        const run = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          elementwiseAttention(a, b, c, { ...options, mask: m }) as tf.Tensor;
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(run(a, b, c), tf.tensor3d(g, shape)));
        return [run(q, k, v), ...tf.grads(loss)([q, k, v])];
      });
      const yValues = y.dataSync();
      const gradValues = grads.map((x) => Float32Array.from(x.dataSync()));
      tf.dispose([y, ...grads]);
      expect(tf.memory().numTensors).toBe(before);
      const oracleLoss = (inputs: Float32Array[]) => {
        const out = groupedForward(
          { q: inputs[0], k: inputs[1], v: inputs[2], mask, dims },
          { ...options, order },
        ).y;
        return out.reduce((sum, x, i) => sum + x * g[i], 0);
      };
      const reference = groupedForward(
        { q: values[0], k: values[1], v: values[2], mask, dims },
        { ...options, order },
      );
      expectClose(yValues, reference.y, 1e-5, 'y');
      const h = 1e-3;
      for (let input = 0; input < 3; input++) {
        const moved = (sign: number) =>
          values
            .slice(0, 3)
            .map((x, i) =>
              i === input
                ? Float32Array.from(x, (xi, j) => xi + sign * h * directions[input][j])
                : x,
            );
        // Float32 inputs: the step h is large enough to resolve in float64 sums of float32 values.
        const numeric = (oracleLoss(moved(1)) - oracleLoss(moved(-1))) / (2 * h);
        const analytic = Array.from(gradValues[input]).reduce(
          (sum, x, j) => sum + x * directions[input][j],
          0,
        );
        expect(
          Math.abs(analytic - numeric),
          `input ${input}: ${analytic} vs ${numeric}`,
        ).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
      }
    });
  }

  it('under a gradient, holds the weights of one query block at a time: the peak grows about 2× from L to 2L (the parallel form: about 4×)', async () => {
    const peak = async (length: number) => {
      const profile = await tf.profile(() =>
        tf.tidy(() => {
          const x = tf.tensor3d(randomValues(length * D, 6, 0.7), [1, length, D]);
          return tf.grad((a: tf.Tensor) =>
            tf.sum(elementwiseAttention(a, x, x, { order, groupSize, causal: true }) as tf.Tensor),
          )(x);
        }),
      );
      (profile.result as tf.Tensor).dispose();
      return profile.peakBytes;
    };
    const [short, long] = [await peak(4 * QUERY_BLOCK), await peak(8 * QUERY_BLOCK)];
    expect(long / short).toBeLessThan(2.6);
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
