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
  relativeRmsError,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { expectFinite, read } from '../compare.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';
import { tokenAt } from './step.js';

/**
 * Grouped EA (`groupSize` d > 1: groups of d channels share one similarity) against the oracle's
 * grouped form: outputs, final state, gradients (central differences of the oracle), steps.
 * The parallel form has no kernel name yet, so every backend runs the op's composite; the suite
 * holds a backend to it all the same, as the tfjs ops it is built from are the backend's. The
 * steps run the backend's ElementwiseAttentionGroupedStep where it registers one.
 */
const [B, L, D] = [2, 5, 6];
/** Relative RMS bound on ∂q, ∂k with keys ×30 (float32 logits of a few hundred). */
const FAR_KEY_GRADIENTS = 1e-2;
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

    const EXTREMES = [
      { name: 'queries ×1e7 at order 6 (T_6 overflows float32)', order: 6, q: 1e7, k: 1, v: 1 },
      { name: 'keys ×30 at order 2 (e^{-|k|²} underflows)', order: 2, q: 1, k: 30, v: 1 },
      { name: 'values ×1e37 at order 2', order: 2, q: 1, k: 1, v: 1e37 },
      { name: "keys ×30, order 'exact'", order: 'exact' as const, q: 1, k: 30, v: 1 },
    ];
    for (const extreme of EXTREMES) {
      for (const causal of [false, true]) {
        kit.test(
          `${extreme.name}: y and gradients match the oracle (causal ${causal})`,
          async () => {
            const { order } = extreme;
            const groupSize = 2;
            const values = [11, 12, 13, 14].map((seed) => randomNormal(B * L * D, seed, 0.7));
            const scaled = [
              values[0].map((x) => x * extreme.q),
              values[1].map((x) => x * extreme.k),
              values[2].map((x) => x * extreme.v),
            ];
            const [q, k, v] = scaled.map((x) => tf.tensor3d(x, [B, L, D]));
            const g = tf.tensor3d(values[3], [B, L, D]);
            const run = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
              elementwiseAttention(a, b, c, { order, causal, groupSize });
            const y = run(q, k, v);
            const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
              tf.sum(tf.mul(run(a, b, c), g)),
            )([q, k, v]);
            const [qd, kd, vd] = scaled.map((x) => Float64Array.from(x));
            const gd = Float64Array.from(values[3]);
            const dims = { batch: B, queryLength: L, keyLength: L, channels: D };
            const reference = (qq: Float64Array, kk: Float64Array, vv: Float64Array) =>
              groupedForward({ q: qq, k: kk, v: vv, dims }, { order, groupSize, causal }).y;
            const form = order === 'exact' ? 'exact' : 'forward';
            await kit.compare.expectClose(y, reference(qd, kd, vd), form, 'y');
            const loss = (out: Float64Array) => out.reduce((sum, x, i) => sum + x * gd[i], 0);
            // Steps relative to each input's scale, so the differences resolve in float64.
            const step = (scale: number) => 1e-5 * scale;
            const expected = [
              centralDifferenceGradient((x) => loss(reference(x, kd, vd)), qd, step(extreme.q)),
              centralDifferenceGradient((x) => loss(reference(qd, x, vd)), kd, step(extreme.k)),
              centralDifferenceGradient((x) => loss(reference(qd, kd, x)), vd, step(extreme.v)),
            ];
            for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
              if (extreme.k > 1 && name !== 'dv') {
                // Logits of a few hundred carry float32 rounding of ~1e-5 into every weight,
                // and ∂q, ∂k scale it by |k|: finite, and close at that conditioning.
                const got = await read(grads[i]);
                expectFinite(got, name);
                expect(relativeRmsError(expected[i], got), name).toBeLessThan(FAR_KEY_GRADIENTS);
              } else {
                await kit.compare.expectClose(grads[i], expected[i], 'backward', name);
              }
            }
            tf.dispose([q, k, v, g, y, ...grads]);
          },
        );
      }
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
