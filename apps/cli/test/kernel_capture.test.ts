import { ElementwiseAttentionForward, elementwiseAttention } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@elementwise/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureAttentionInputs } from '../src/analysis/kernel_capture.js';

describe('captureAttentionInputs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('copies q and k of each EA forward call, leaves the result unchanged and restores the kernel', async () => {
    const original = tf.getKernel(ElementwiseAttentionForward, 'cpu');
    const q = tf.tensor3d([0.1, -0.2, 0.3, 0.4, 0.5, -0.6], [1, 3, 2]);
    const k = tf.tensor3d([0.7, 0.8, -0.9, 1.0, 0.2, 0.1], [1, 3, 2]);
    const v = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 3, 2]);
    const expected = elementwiseAttention(q, k, v, { order: 6, causal: true });
    const before = tf.memory().numTensors;
    let got: tf.Tensor | undefined;
    const calls = await captureAttentionInputs(async () => {
      got = elementwiseAttention(q, k, v, { order: 6, causal: true });
    });
    expect(calls).toHaveLength(1);
    expect(Array.from(calls[0].q)).toEqual(Array.from(q.dataSync()));
    expect(Array.from(calls[0].k)).toEqual(Array.from(k.dataSync()));
    expect(calls[0].qShape).toEqual([1, 3, 2]);
    expect(calls[0].causal).toBe(true);
    expect(Array.from(got?.dataSync() ?? [])).toEqual(Array.from(expected.dataSync()));
    expect(tf.getKernel(ElementwiseAttentionForward, 'cpu')).toBe(original);
    got?.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, k, v, expected]);
  });
});
