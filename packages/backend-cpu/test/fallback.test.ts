import '@tensorflow/tfjs-backend-cpu';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

/**
 * A platform without WebAssembly SIMD: `WebAssembly.validate` rejects the module when the
 * package loads, so the kernels run the TypeScript implementation. Nothing in this file loads
 * the package before the stub (test/helpers.ts would), and each test file has its own modules.
 */

const random = (size: number, seed: number) =>
  Float32Array.from({ length: size }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 0.7);

describe('without WebAssembly SIMD', () => {
  it('falls back to TypeScript at load and still matches the oracle', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const { kernelImplementation } = await import('../src/index.js');
    const { elementwiseAttention } = await import('@elementwise/attention');
    expect(validate).toHaveBeenCalled();
    validate.mockRestore();
    expect(kernelImplementation()).toBe('typescript');
    const { seriesSimd } = await import('../src/simd/series_simd.js');
    expect(seriesSimd()).toBeNull();

    await tf.setBackend('cpu');
    const [batch, length, channels] = [2, 9, 5];
    const size = batch * length * channels;
    const data = { q: random(size, 1), k: random(size, 2), v: random(size, 3) };
    const dy = random(size, 4);
    const tensors = tf.tidy(() => {
      const shape: [number, number, number] = [batch, length, channels];
      const [q, k, v, g] = [data.q, data.k, data.v, dy].map((x) => tf.tensor3d(x, shape));
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        elementwiseAttention(a, b, c, { order: 6, causal: true });
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), g));
      return [f(q, k, v), ...tf.grads(loss)([q, k, v])];
    });
    const [y, dq, dk, dv] = tensors.map((x) => x.dataSync() as Float32Array);
    tf.dispose(tensors);
    const dims = { batch, queryLength: length, keyLength: length, channels };
    const grads = eaBackward({ ...data, dims }, dy, { order: 6, causal: true });
    const forward = eaForward({ ...data, dims }, { order: 6, causal: true });
    expect(relativeRmsError(forward.y, y)).toBeLessThanOrEqual(1e-5);
    expect(relativeRmsError(grads.dq, dq)).toBeLessThanOrEqual(1e-5);
    expect(relativeRmsError(grads.dk, dk)).toBeLessThanOrEqual(1e-5);
    expect(relativeRmsError(grads.dv, dv)).toBeLessThanOrEqual(1e-5);
    // The fused kernels ran (the composite would show up as Exp among the kernels).
    const profile = await tf.profile(() =>
      elementwiseAttention(tf.ones([1, 3, 2]), tf.ones([1, 3, 2]), tf.ones([1, 3, 2])),
    );
    expect(profile.kernels.map((kernel) => kernel.name)).toContain('ElementwiseAttentionForward');
    tf.dispose(profile.result as tf.Tensor);
  });
});
