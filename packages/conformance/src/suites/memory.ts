import { elementwiseAttention, elementwiseAttentionStep, zeroState } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { describe } from 'vitest';
import { read } from '../compare.js';
import type { Kit } from '../kit.js';
import { expectNothingLeft, memorySnapshot } from '../kit.js';
import { randomNormal } from '../random.js';

/**
 * Leaks, counted two ways: tensors the engine tracks (`tf.memory().numTensors`) and data ids the
 * backend holds (`backend.numDataIds()`), which also counts intermediate buffers a kernel
 * allocated and never released. Each check runs the work once first, so lazily created backend
 * state (compiled programs, caches) is not mistaken for a leak.
 */
export function memorySuite(kit: Kit): void {
  const [batch, length, channels, order] = [2, 9, 3, 6];
  const shape: [number, number, number] = [batch, length, channels];
  const inputs = () =>
    [1, 2, 3].map((seed) => tf.tensor3d(randomNormal(batch * length * channels, seed), shape));

  /** Runs `work` twice and checks the second run leaves memory as it found it. */
  async function expectNoLeak(work: () => Promise<void>) {
    await work();
    const before = memorySnapshot();
    await work();
    expectNothingLeft(before, 'left behind by the second run');
  }

  describe('no leaks (tensors and backend data ids)', () => {
    for (const order of [6, 'exact'] as const) {
      kit.test(`forward, causal and not, with the final state (order ${order})`, async () => {
        const [q, k, v] = inputs();
        await expectNoLeak(async () => {
          for (const causal of [false, true]) {
            const out = elementwiseAttention(q, k, v, {
              order,
              causal,
              returnFinalState: true,
            });
            await read(out.y);
            tf.dispose([out.y, out.finalState.s, out.finalState.z]);
          }
        });
        tf.dispose([q, k, v]);
      });
    }

    kit.test('gradients (tf.grads), including the initial state', async () => {
      const [q, k, v] = inputs();
      const s = tf.zeros([batch, order + 1, channels]);
      const z = tf.ones([batch, order + 1, channels]);
      await expectNoLeak(async () => {
        const grads = tf.grads((...x: tf.Tensor[]) => {
          const out = elementwiseAttention(x[0], x[1], x[2], {
            order,
            causal: true,
            initialState: { s: x[3], z: x[4] },
            returnFinalState: true,
          });
          return tf.add(tf.sum(out.y), tf.sum(out.finalState.s));
        })([q, k, v, s, z]);
        await Promise.all(grads.map(read));
        tf.dispose(grads);
      });
      tf.dispose([q, k, v, s, z]);
    });

    kit.test('a loop of 100 recurrent steps', async () => {
      const x = tf.tensor2d(randomNormal(batch * channels, 1), [batch, channels]);
      await expectNoLeak(async () => {
        let state = zeroState(order, batch, channels);
        for (let i = 0; i < 100; i++) {
          const next = elementwiseAttentionStep(x, x, x, state, { order });
          tf.dispose([state.s, state.z, next.y]);
          state = next.state;
        }
        await read(state.s);
        tf.dispose([state.s, state.z]);
      });
      x.dispose();
    });
  });
}
