import { kernelConfigs, registerCpuKernels } from '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../src/index.js';
import { relativeError, TEXT, tinyCharLM, useBackend } from './helpers.js';

function unregisterFusedKernels(): void {
  for (const config of kernelConfigs) tf.unregisterKernel(config.kernelName, config.backendName);
}

/** Logits of a batch and the gradient of its loss with respect to every weight, flattened. */
async function outputsAndGradients(
  order: number | 'exact',
): Promise<{ logits: Float32Array; gradients: Float32Array; kernels: string[] }> {
  const model = createModel(tinyCharLM({ attention: { kind: 'ea', order }, maxLength: 24 }), {
    seed: 9,
  });
  const ids = model.encode(TEXT.slice(0, 2 * 25));
  const batch = {
    inputs: tf.tensor2d(Array.from(ids.subarray(0, 48)), [2, 24], 'int32'),
    targets: tf.tensor2d(Array.from(ids.subarray(1, 49)), [2, 24], 'int32'),
  };
  const profile = await tf.profile(() => {
    const logits = model.logits(batch.inputs as tf.Tensor2D);
    const { grads, value } = tf.variableGrads(
      () => model.loss(batch, { training: false }),
      model.trainableVariables().map((p) => p.variable),
    );
    const gradients = tf.concat(Object.values(grads).map((g) => tf.reshape(g, [-1])));
    tf.dispose([value, ...Object.values(grads)]);
    return [logits, gradients];
  });
  const [logits, gradients] = profile.result as tf.Tensor[];
  const result = {
    logits: logits.dataSync() as Float32Array,
    gradients: gradients.dataSync() as Float32Array,
    kernels: profile.kernels.map((k) => k.name),
  };
  tf.dispose([logits, gradients, batch.inputs, batch.targets]);
  model.dispose();
  return result;
}

afterAll(() => registerCpuKernels());

describe('fused kernels (@elementwise/backend-cpu) and the composite give the same model', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`on ${backend}: logits and weight gradients of an EA-6 char LM`, async () => {
      await useBackend(backend);
      unregisterFusedKernels();
      const composite = await outputsAndGradients(6);
      expect(composite.kernels).not.toContain('ElementwiseAttentionForward');
      registerCpuKernels();
      const fused = await outputsAndGradients(6);
      expect(fused.kernels).toContain('ElementwiseAttentionForward');
      expect(fused.kernels).toContain('ElementwiseAttentionBackward');
      expect(relativeError(composite.logits, fused.logits)).toBeLessThan(1e-5);
      expect(relativeError(composite.gradients, fused.gradients)).toBeLessThan(1e-4);
    });
  }

  it('cpu and wasm agree (fused kernels on both)', async () => {
    registerCpuKernels();
    await useBackend('cpu');
    const cpu = await outputsAndGradients(2);
    await useBackend('wasm');
    const wasm = await outputsAndGradients(2);
    expect(relativeError(cpu.logits, wasm.logits)).toBeLessThan(1e-5);
    expect(relativeError(cpu.gradients, wasm.gradients)).toBeLessThan(1e-4);
  });
});
