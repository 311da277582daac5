import '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel, train } from '../src/index.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

const CONTEXT = 8192;

describe('training at context 8 192', () => {
  // The path the benchmark measures at full width (BENCHMARKS.md, long contexts), at a width
  // small enough for a test: fused EA-6 on wasm with the blocks recomputed in the backward pass.
  it('an EA-6 char LM trains a step on wasm with recompute, leaking nothing', async () => {
    await useBackend('wasm');
    const model = createModel(tinyCharLM({ maxLength: CONTEXT, dModel: 16, numLayers: 2 }), {
      seed: 1,
    });
    const text = TEXT.repeat(Math.ceil((2 * CONTEXT) / TEXT.length));
    const before = tf.memory().numTensors;
    const { history } = await train(
      model,
      { train: { kind: 'text', text } },
      { steps: 2, batchSize: 1, learningRate: 1e-2, seed: 1, recompute: true },
    );
    expect(history).toHaveLength(2);
    expect(history.every((event) => Number.isFinite(event.loss))).toBe(true);
    expect(history[1].loss).toBeLessThan(history[0].loss);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
