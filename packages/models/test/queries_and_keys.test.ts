import '@elementwise/backend-cpu';
import { sinusoidalTable } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CharLM, createModel, queriesAndKeys } from '../src/index.js';
import { relativeError, tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

/** Two sequences of 8 ids, as a token dataset whose evaluation cover is exactly those rows. */
const LENGTH = 8;
const IDS = Int32Array.from({ length: 2 * LENGTH }, (_, i) => 1 + ((i * 7) % 20));
const TOKENS = { kind: 'tokens', inputs: IDS, targets: IDS, length: LENGTH } as const;

/** The first block's queries and keys in float64: (embedding + positions) · W + b. */
function firstLayerReference(model: CharLM, role: 'query' | 'key'): Float64Array {
  const weights = model.getWeights();
  const d = model.config.dModel;
  const table = weights['token_embedding/embeddings'].dataSync();
  const kernel = weights[`block_0/${role}/kernel`].dataSync();
  const bias = weights[`block_0/${role}/bias`].dataSync();
  const positions = sinusoidalTable(0, LENGTH, d);
  const out = new Float64Array(IDS.length * d);
  for (let row = 0; row < IDS.length; row++) {
    const x = Array.from({ length: d }, (_, c) => {
      return table[IDS[row] * d + c] + positions[(row % LENGTH) * d + c];
    });
    for (let o = 0; o < d; o++) {
      let sum = bias[o];
      for (let c = 0; c < d; c++) sum += x[c] * kernel[c * d + o];
      out[row * d + o] = sum;
    }
  }
  return out;
}

describe('queriesAndKeys', () => {
  it("reads every block's q and k through a sub-model of the network, leaking nothing", async () => {
    for (const attention of [{ kind: 'ea', order: 6 } as const, { kind: 'softmax' } as const]) {
      const start = tf.memory().numTensors;
      const model = createModel(tinyCharLM({ attention, dropout: 0.5 }), { seed: 3 });
      const before = tf.memory().numTensors;
      const layers = await queriesAndKeys(model, TOKENS, { examples: 2 });
      expect(tf.memory().numTensors).toBe(before);
      expect(layers.map((l) => l.layer)).toEqual([0, 1]);
      for (const layer of layers) {
        expect(layer.shape).toEqual([2, LENGTH, model.config.dModel]);
        expect(layer.causal).toBe(true);
      }
      // Dropout (0.5 here) stays off: the reference has none.
      expect(relativeError(firstLayerReference(model, 'query'), layers[0].query)).toBeLessThan(
        1e-6,
      );
      expect(relativeError(firstLayerReference(model, 'key'), layers[0].key)).toBeLessThan(1e-6);
      // The second block sees the first one's output: other values.
      expect(relativeError(layers[0].query, layers[1].query)).toBeGreaterThan(0.1);
      // The sub-model shares the network's layers: disposing the model frees them all.
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }
  });

  it('names a bad argument, and takes all examples when asked for more', async () => {
    const model = createModel(tinyCharLM(), { seed: 3 });
    await expect(queriesAndKeys(model, TOKENS, { examples: 0 })).rejects.toThrow(
      'queriesAndKeys: options.examples must be a positive integer, got 0',
    );
    // More examples than the dataset has: all of them.
    const all = await queriesAndKeys(model, TOKENS, { examples: 5 });
    expect(all[0].shape).toEqual([2, LENGTH, model.config.dModel]);
    await expect(
      queriesAndKeys(model, { kind: 'text', text: 7 } as never, { examples: 1 }),
    ).rejects.toThrow('queriesAndKeys: dataset.text must be a string, got 7');
    model.dispose();
    await expect(queriesAndKeys(model, TOKENS, { examples: 1 })).rejects.toThrow(
      'queriesAndKeys: the model has been disposed',
    );
  });
});
