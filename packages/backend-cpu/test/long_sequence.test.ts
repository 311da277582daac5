import { elementwiseAttention } from '@elementwise/attention';
import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { setSimdEnabled } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';

/**
 * Causal running sums over a long sequence (L = 65 536, D = 16, order 6): forward and every
 * gradient against the float64 oracle. The kernels accumulate in float64, so the float32 bound
 * holds with a wide margin. The maths is shared by both backends; it runs here on cpu.
 */
describe('long causal sequence on cpu', () => {
  const [length, channels, order] = [65536, 16, 6];
  const size = length * channels;
  const data = {
    q: randomNormal(size, 21),
    k: randomNormal(size, 22),
    v: randomNormal(size, 23, 1),
    dims: { batch: 1, queryLength: length, keyLength: length, channels },
  };
  const dy = randomNormal(size, 24, 1);
  let oracle: { y: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array } | undefined;
  afterAll(() => setSimdEnabled(true));

  for (const implementation of ['wasm-simd', 'typescript'] as const) {
    it(`L = 65536, D = 16, order 6 (${implementation}): y, dq, dk, dv within 1e-5 of the oracle`, async () => {
      await useBackend('cpu');
      setSimdEnabled(implementation === 'wasm-simd');
      const before = tf.memory().numTensors;
      const tensors = tf.tidy(() => {
        const shape: [number, number, number] = [1, length, channels];
        const [q, k, v, g] = [data.q, data.k, data.v, dy].map((x) => tf.tensor3d(x, shape));
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          elementwiseAttention(a, b, c, { order, causal: true });
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), g));
        return [f(q, k, v), ...tf.grads(loss)([q, k, v])];
      });
      const [y, dq, dk, dv] = tensors.map((x) => x.dataSync() as Float32Array);
      tf.dispose(tensors);
      expect(tf.memory().numTensors).toBe(before);
      if (oracle === undefined) {
        const backward = eaBackward(data, dy, { order, causal: true });
        oracle = { y: eaForward(data, { order, causal: true }).y, ...backward };
      }
      const errors = [
        expectClose(y, oracle.y, 'y'),
        expectClose(dq, oracle.dq, 'dq'),
        expectClose(dk, oracle.dk, 'dk'),
        expectClose(dv, oracle.dv, 'dv'),
      ];
      const report = ['y', 'dq', 'dk', 'dv'].map((n, i) => `${n} ${errors[i].toExponential(2)}`);
      console.info(`[cpu, ${implementation}] L=65536 causal D=16 order 6: ${report.join(', ')}`);
    });
  }
});
