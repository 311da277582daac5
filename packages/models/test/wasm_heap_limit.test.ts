import '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel, train } from '../src/index.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

// Its own file (its own process): the wasm heap grows to its 4 GiB limit here and stays there.
describe('a training step larger than the 4 GiB wasm heap', () => {
  it('fails with a clear error naming the step, the heap and what to do; the backend goes on', async () => {
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    // dModel 128, 3 blocks: about 170 KB per token without recomputation, so 16 × 8 192
    // tokens would need over 20 GB.
    const model = createModel(
      tinyCharLM({ dModel: 128, numHeads: 4, numLayers: 3, maxLength: 8192 }),
      { seed: 1 },
    );
    const data = { train: { kind: 'text' as const, text: TEXT.repeat(30) } };
    const options = { steps: 1, learningRate: 1e-3, seed: 1 };
    const error = await train(model, data, { ...options, batchSize: 16 }).then(
      () => new Error('the step did not fail'),
      (reason: Error) => reason,
    );
    expect(error.message).toMatch(
      /^train: out of memory during training step 1 \(batch 16 × context 8192\) at dModel 128, 3 layers: tfjs wasm backend: could not allocate \d+ bytes on its WebAssembly heap; the heap is at \d+ bytes \([\d.]+ GiB\) and a wasm32 heap cannot exceed 4 GiB \(4294967296 bytes\)\. Reduce what is held at once: .* Or train with recompute: true, .* The allocation was refused before anything was written, so the wasm backend stays usable\.$/,
    );
    // The same model then trains at that context with what the message suggests.
    const { history } = await train(model, data, { ...options, batchSize: 1, recompute: true });
    expect(history).toHaveLength(1);
    expect(Number.isFinite(history[0].loss)).toBe(true);
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
