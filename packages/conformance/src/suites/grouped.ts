import {
  elementwiseAttention,
  elementwiseAttentionStep,
  zeroState as zeroStateTensors,
} from '@elementwise/attention';
import {
  centralDifferenceGradient,
  groupedForward,
  groupedStep,
  groupFeatureCount,
  type Order,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { read } from '../compare.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';
import { tokenAt } from './step.js';

/**
 * Grouped EA (`groupSize` d > 1: groups of d channels share one similarity) against the oracle's
 * grouped form: outputs, final state, gradients (central differences of the oracle), steps.
 * The form has no kernel names yet, so every backend runs the op's composite; the suite holds a
 * backend to it all the same, as the tfjs ops it is built from are the backend's.
 */
const [B, L, D] = [2, 5, 6];
const MASK = Float64Array.from([1, 1, 0, 1, 1, 1, 1, 1, 1, 0]);

const CASES: readonly { order: Order; groupSize: number; causal: boolean }[] = [
  { order: 0, groupSize: 2, causal: true },
  { order: 2, groupSize: 2, causal: true },
  { order: 2, groupSize: 3, causal: false },
  { order: 4, groupSize: 2, causal: true },
  { order: 'exact', groupSize: 3, causal: true },
  { order: 'exact', groupSize: 6, causal: false },
];

export function groupedSuite(kit: Kit): void {
  describe('grouped similarity (groupSize > 1)', () => {
    for (const { order, groupSize, causal } of CASES) {
      const form = order === 'exact' ? 'exact' : 'forward';
      kit.test(
        `order ${order}, groupSize ${groupSize}, causal ${causal}: y and gradients match the oracle, with a mask`,
        async () => {
          const values = [1, 2, 3, 4].map((seed) => randomNormal(B * L * D, seed, 0.7));
          const [q, k, v, g] = values.map((x) => tf.tensor3d(x, [B, L, D]));
          const mask = tf.tensor2d(Float32Array.from(MASK), [B, L]);
          const run = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order, causal, groupSize, mask });
          const y = run(q, k, v);
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(run(a, b, c), g)),
          )([q, k, v]);
          const [qd, kd, vd, gd] = values.map((x) => Float64Array.from(x));
          const dims = { batch: B, queryLength: L, keyLength: L, channels: D };
          const reference = (qq: Float64Array, kk: Float64Array, vv: Float64Array) =>
            groupedForward({ q: qq, k: kk, v: vv, mask: MASK, dims }, { order, groupSize, causal })
              .y;
          await kit.compare.expectClose(y, reference(qd, kd, vd), form, 'y');
          const loss = (out: Float64Array) => out.reduce((sum, x, i) => sum + x * gd[i], 0);
          const expected = [
            centralDifferenceGradient((x) => loss(reference(x, kd, vd)), qd),
            centralDifferenceGradient((x) => loss(reference(qd, x, vd)), kd),
            centralDifferenceGradient((x) => loss(reference(qd, kd, x)), vd),
          ];
          for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
            await kit.compare.expectClose(grads[i], expected[i], 'backward', name);
          }
          tf.dispose([q, k, v, g, mask, y, ...grads]);
        },
      );
    }

    kit.test(
      'continues from a state, returns the final state, and steps equal the parallel form',
      async () => {
        const [order, groupSize] = [2, 3];
        const F = groupFeatureCount(groupSize, order);
        const [qv, kv, vv] = [5, 6, 7].map((seed) => randomNormal(B * L * D, seed, 0.7));
        const s0 = randomNormal(B * F * D, 8, 0.3);
        const z0 = randomNormal((B * F * D) / groupSize, 9, 1).map(Math.abs);
        const [q, k, v] = [qv, kv, vv].map((x) => tf.tensor3d(x, [B, L, D]));
        const initialState = {
          s: tf.tensor3d(s0, [B, F, D]),
          z: tf.tensor3d(z0, [B, F, D / groupSize]),
        };
        const result = elementwiseAttention(q, k, v, {
          order,
          groupSize,
          causal: true,
          initialState,
          returnFinalState: true,
        });
        const dims = { batch: B, queryLength: L, keyLength: L, channels: D };
        const reference = groupedForward(
          { q: qv, k: kv, v: vv, dims },
          { order, groupSize, causal: true, initialState: { s: s0, z: z0 } },
        );
        await kit.compare.expectClose(result.y, reference.y, 'forward', 'y from a state');
        await kit.compare.expectClose(
          result.finalState.s,
          reference.finalState?.s ?? [],
          'forward',
          'final s',
        );
        await kit.compare.expectClose(
          result.finalState.z,
          reference.finalState?.z ?? [],
          'forward',
          'final z',
        );

        const parallelTensor = elementwiseAttention(q, k, v, { order, groupSize, causal: true });
        const parallel = await read(parallelTensor);
        parallelTensor.dispose();
        let state = zeroStateTensors(order, B, D, groupSize);
        for (let i = 0; i < L; i++) {
          const [qi, ki, vi] = [qv, kv, vv].map((x) => tokenAt(x, B, L, D, i));
          const inputs = [qi, ki, vi].map((x) => tf.tensor2d(x, [B, D]));
          const step = elementwiseAttentionStep(inputs[0], inputs[1], inputs[2], state, {
            order,
            groupSize,
          });
          const before = { s: await read(state.s), z: await read(state.z) };
          const oracle = groupedStep(qi, ki, vi, before, {
            order,
            groupSize,
            batch: B,
            channels: D,
          });
          await kit.compare.expectClose(step.y, oracle.y, 'step', `step ${i}`);
          await kit.compare.expectClose(
            step.y,
            tokenAt(parallel, B, L, D, i),
            'properties',
            `step ${i} against the parallel form`,
          );
          tf.dispose([...inputs, state.s, state.z, step.y]);
          state = step.state;
        }
        expect(state.s.shape).toEqual([B, F, D]);
        expect(state.z.shape).toEqual([B, F, D / groupSize]);
        tf.dispose([q, k, v, initialState.s, initialState.z, result.y, state.s, state.z]);
        tf.dispose([result.finalState.s, result.finalState.z]);
      },
    );
  });
}
