import '@tensorflow/tfjs-backend-webgpu';
import { elementwiseAttention } from '@elementwise/attention';
import { randomNormal } from '@elementwise/conformance';
import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWebGPUKernels } from '../src/index.js';
import { watchDeviceErrors } from './device_errors.js';
import { expectClose, randomInputs } from './oracle_inputs.js';

/**
 * Causal prefix sums over L = 65 536 (D = 16, order 6) in float32 on the GPU: the blocked scan
 * (16 positions per invocation, a workgroup scan over 64 invocations, carries between 64 blocks)
 * keeps y and every gradient within the float32 bound of the float64 oracle.
 */
const deviceErrors = watchDeviceErrors();

describe('long causal sequence on webgpu', () => {
  const [length, channels, order] = [65536, 16, 6];
  beforeAll(async () => {
    registerWebGPUKernels();
    await deviceErrors.start();
  });

  it('L = 65536, D = 16, order 6: y, dq, dk, dv within 1e-5 of the oracle', async () => {
    const { q, k, v } = randomInputs(1, length, length, channels, 21);
    const dy = randomNormal(length * channels, 24, 1);
    const before = tf.memory().numTensors;
    const tensors = tf.tidy(() => {
      const shape: [number, number, number] = [1, length, channels];
      const [qt, kt, vt, g] = [q, k, v, dy].map((x) => tf.tensor3d(x, shape));
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        elementwiseAttention(a, b, c, { order, causal: true });
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), g));
      return [f(qt, kt, vt), ...tf.grads(loss)([qt, kt, vt])];
    });
    const got = await Promise.all(tensors.map((x) => x.data()));
    tf.dispose(tensors);
    expect(tf.memory().numTensors).toBe(before);
    const data = { q, k, v, dims: { batch: 1, queryLength: length, keyLength: length, channels } };
    const oracle = {
      y: eaForward(data, { order, causal: true }).y,
      ...eaBackward(data, dy, { order, causal: true }),
    };
    const report = (['y', 'dq', 'dk', 'dv'] as const).map(
      (name, i) => `${name} ${expectClose(got[i], oracle[name], name).toExponential(2)}`,
    );
    console.info(`[webgpu] L=65536 causal D=16 order 6: ${report.join(', ')}`);
  });
});
