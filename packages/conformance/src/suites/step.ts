import {
  elementwiseAttention,
  elementwiseAttentionStep,
  zeroState as zeroStateTensors,
} from '@elementwise/attention';
import { eaStep, eaStepBackward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { read } from '../compare.js';
import { randomState } from '../data.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';

/** Position `i` of a `[B, L, D]` array, as `[B, D]`. */
export function tokenAt(
  x: Float32Array,
  batch: number,
  length: number,
  channels: number,
  i: number,
): Float32Array {
  const out = new Float32Array(batch * channels);
  for (let b = 0; b < batch; b++) {
    out.set(x.subarray((b * length + i) * channels, (b * length + i + 1) * channels), b * channels);
  }
  return out;
}

/** The recurrent form: one step against the oracle, a step loop against the parallel form. */
export function stepSuite(kit: Kit): void {
  describe('recurrent step', () => {
    for (const order of [0, 2, 4, 6, 8]) {
      kit.test(`matches the oracle step at order ${order}, from a non-zero state`, async () => {
        const [batch, channels] = [3, 5];
        const [q, k, v] = [1, 2, 3].map((seed) =>
          randomNormal(batch * channels, seed, seed === 3 ? 1 : 0.5),
        );
        const state = randomState(batch, order, channels, 4);
        const shape = [batch, channels];
        const stateShape = [batch, order + 1, channels];
        const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor2d(x, shape as [number, number]));
        const [st, zt] = [state.s, state.z].map((x) => tf.tensor(x, stateShape));
        const out = elementwiseAttentionStep(qt, kt, vt, { s: st, z: zt }, { order });
        expect(out.y.shape).toEqual(shape);
        expect(out.state.s.shape).toEqual(stateShape);
        expect(out.state.z.shape).toEqual(stateShape);
        const expected = eaStep(q, k, v, state, { order, batch, channels });
        await kit.compare.expectClose(out.y, expected.y, 'step', 'y');
        await kit.compare.expectClose(out.state.s, expected.state.s, 'step', "s'");
        await kit.compare.expectClose(out.state.z, expected.state.z, 'step', "z'");
        // The step returns a new state and leaves the one passed in untouched.
        await kit.compare.expectClose(st, state.s, 'step', 's passed in');
        tf.dispose([qt, kt, vt, st, zt, out.y, out.state.s, out.state.z]);
      });
    }

    kit.test(
      `a loop of ${kit.options.stepLoop} steps equals the causal parallel form and leaks nothing`,
      async () => {
        const [batch, length, channels, order] = [2, kit.options.stepLoop, 4, 6];
        const size = batch * length * channels;
        const [q, k, v] = [1, 2, 3].map((seed) => randomNormal(size, seed, seed === 3 ? 1 : 0.5));
        const shape: [number, number, number] = [batch, length, channels];
        const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor3d(x, shape));
        const parallel = elementwiseAttention(qt, kt, vt, { order, causal: true });
        tf.dispose([qt, kt, vt]);
        const start = tf.memory().numTensors;
        let state = zeroStateTensors(order, batch, channels);
        const outputs: tf.Tensor[] = [];
        for (let i = 0; i < length; i++) {
          const next = tf.tidy(() => {
            const at = (x: Float32Array) =>
              tf.tensor2d(tokenAt(x, batch, length, channels, i), [batch, channels]);
            return elementwiseAttentionStep(at(q), at(k), at(v), state, { order });
          });
          tf.dispose([state.s, state.z]);
          state = next.state;
          outputs.push(next.y);
        }
        const recurrent = tf.stack(outputs, 1);
        tf.dispose([...outputs, state.s, state.z]);
        expect(tf.memory().numTensors - start, 'only the stacked outputs remain').toBe(1);
        await kit.compare.expectClose(
          recurrent,
          await read(parallel),
          'step',
          'recurrent vs parallel',
        );
        tf.dispose([parallel, recurrent]);
      },
    );

    kit.test(
      'step gradients match the oracle and the causal form with the same initial state',
      async () => {
        const [batch, channels, order] = [2, 3, 4];
        const moments = order + 1;
        const [q, k, v] = [1, 2, 3].map((seed) =>
          randomNormal(batch * channels, seed, seed === 3 ? 1 : 0.5),
        );
        const state = randomState(batch, order, channels, 4);
        const dy = randomNormal(batch * channels, 6);
        const dS = randomNormal(batch * moments * channels, 7);
        const shape: [number, number] = [batch, channels];
        const stateShape: [number, number, number] = [batch, moments, channels];
        const xs = [
          ...[q, k, v].map((x) => tf.tensor2d(x, shape)),
          tf.tensor3d(state.s, stateShape),
          tf.tensor3d(state.z, stateShape),
        ];
        const cy = tf.tensor2d(dy, shape);
        const cs = tf.tensor3d(dS, stateShape);
        const viaStep = tf.grads((...x: tf.Tensor[]) => {
          const out = elementwiseAttentionStep(x[0], x[1], x[2], { s: x[3], z: x[4] }, { order });
          return tf.add(tf.sum(tf.mul(out.y, cy)), tf.sum(tf.mul(out.state.s, cs)));
        })(xs);
        const viaParallel = tf.grads((...x: tf.Tensor[]) => {
          const seq = (t: tf.Tensor) => tf.expandDims(t, 1);
          const out = elementwiseAttention(seq(x[0]), seq(x[1]), seq(x[2]), {
            order,
            causal: true,
            initialState: { s: x[3], z: x[4] },
            returnFinalState: true,
          });
          return tf.add(
            tf.sum(tf.mul(tf.squeeze(out.y, [1]), cy)),
            tf.sum(tf.mul(out.finalState.s, cs)),
          );
        })(xs);
        const zeros = new Float32Array(batch * moments * channels);
        const expected = eaStepBackward(q, k, v, state, dy, {
          order,
          batch,
          channels,
          dState: { s: dS, z: zeros },
        });
        const references = [
          expected.dq,
          expected.dk,
          expected.dv,
          expected.dState.s,
          expected.dState.z,
        ];
        const names = ['dq', 'dk', 'dv', 'ds', 'dz'];
        for (let i = 0; i < 5; i++) {
          expect(viaStep[i].shape, `${names[i]} shape`).toEqual(xs[i].shape);
          await kit.compare.expectClose(viaStep[i], references[i], 'step', `${names[i]} (oracle)`);
          await kit.compare.expectClose(
            viaStep[i],
            await read(viaParallel[i]),
            'step',
            `${names[i]} (causal form)`,
          );
        }
        tf.dispose([...viaStep, ...viaParallel, ...xs, cy, cs]);
      },
    );
  });
}
