import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  elementwiseAttentionLayer,
  positionalEmbeddingLayer,
  sinusoidalTable,
  tokenEmbeddingLayer,
} from '../src/index.js';
import {
  disposeVariablesAfterEachTest,
  expectClose,
  fitCharModel,
  randomNormal,
  saveToMemory,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';

disposeVariablesAfterEachTest();

async function roundTrip(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
}

describe.each(BACKENDS)('token and positional embeddings on %s', (backend) => {
  it('tokenEmbeddingLayer looks rows of its table up, zeros for ids outside it', async () => {
    await useBackend(backend);
    const layer = tokenEmbeddingLayer({ vocabularySize: 5, outputDim: 3 });
    const ids = tf.tensor2d(
      [
        [0, 4, 2],
        [1, 7, -1],
      ],
      [2, 3],
      'int32',
    );
    const y = layer.apply(ids) as tf.Tensor;
    const table = layer.getWeights()[0].arraySync() as number[][];
    const rows = [
      [0, 4, 2],
      [1, 7, -1],
    ]
      .flat()
      .map((id) => (id >= 0 && id < 5 ? table[id] : [0, 0, 0]));
    expect(y.shape).toEqual([2, 3, 3]);
    expectClose(y, rows.flat(), 1e-7, 'embedded');
    tf.dispose([ids, y]);
  });

  it('a char model of token embedding, positions, EA and a dense head trains with model.fit and reloads', async () => {
    await useBackend(backend);
    // On tfjs-backend-wasm, tf.layers.embedding cannot train (its gather gradient needs a kernel
    // wasm lacks); tokenEmbeddingLayer can.
    const length = 8;
    const middle = [
      positionalEmbeddingLayer({ kind: 'learned', maxLength: length }),
      elementwiseAttentionLayer({ order: 6, causal: true }),
    ];
    const { model, xs, ys } = await fitCharModel(length, middle, 15);
    const loaded = await roundTrip(model);
    expectClose(
      loaded.predict(xs) as tf.Tensor,
      (model.predict(xs) as tf.Tensor).dataSync(),
      1e-6,
      'reloaded predictions',
    );
    tf.dispose([xs, ys]);
  });

  it('positionalEmbeddingLayer adds the sinusoidal table, and at(x, start) the positions from start', async () => {
    await useBackend(backend);
    const [batch, length, channels] = [2, 5, 6];
    const layer = positionalEmbeddingLayer({ maxLength: 12 });
    const x = randomNormal([batch, length, channels], 1, 1);
    const y = layer.apply(x) as tf.Tensor;
    const table = sinusoidalTable(0, length, channels);
    // Float64 reference of the table: sin on even channels, cos on odd ones.
    const angle = (p: number, c: number) => p / 10000 ** ((2 * Math.floor(c / 2)) / channels);
    for (let p = 0; p < length; p++)
      for (let c = 0; c < channels; c++) {
        const want = c % 2 === 0 ? Math.sin(angle(p, c)) : Math.cos(angle(p, c));
        expect(table[p * channels + c]).toBeCloseTo(want, 6);
      }
    const xs = x.dataSync();
    expectClose(
      y,
      Array.from(xs, (v, i) => v + table[i % (length * channels)]),
      1e-6,
      'y',
    );
    // Positions 7 .. 11 for a continuation, and one position at 9.
    const later = layer.at(x, 7);
    const laterTable = sinusoidalTable(7, length, channels);
    expectClose(
      later,
      Array.from(xs, (v, i) => v + laterTable[i % (length * channels)]),
      1e-6,
      'at 7',
    );
    const xt = tf.tensor2d(Array.from(xs.slice(0, channels)), [1, channels]);
    const one = layer.at(xt, 9);
    const oneTable = sinusoidalTable(9, 1, channels);
    expectClose(
      one,
      Array.from(xs.slice(0, channels), (v, c) => v + oneTable[c]),
      1e-6,
      'at 9',
    );
    expect(() => layer.at(x, 8)).toThrow(
      'PositionalEmbedding.at: positions 8 .. 12 do not exist: maxLength is 12',
    );
    tf.dispose([x, y, later, xt, one]);
  });

  it('learned positions are a trained table that saves and loads; errors name the field', async () => {
    await useBackend(backend);
    const model = tfl.sequential({
      layers: [positionalEmbeddingLayer({ kind: 'learned', maxLength: 4, inputShape: [3, 2] })],
    });
    const x = randomNormal([1, 3, 2], 2, 1);
    const table = model.getWeights()[0];
    expect(table.shape).toEqual([4, 2]);
    const y = model.predict(x) as tf.Tensor;
    const rows = table.dataSync().slice(0, 6);
    expectClose(
      y,
      Array.from(x.dataSync(), (v, i) => v + rows[i]),
      1e-7,
      'y',
    );
    const loaded = await roundTrip(model);
    expectClose(loaded.predict(x) as tf.Tensor, y.dataSync(), 0, 'reloaded');
    expect(() => positionalEmbeddingLayer({ kind: 'rotary' as never, maxLength: 4 })).toThrow(
      "positionalEmbeddingLayer: config.kind must be 'sinusoidal' or 'learned', got 'rotary'",
    );
    expect(() => positionalEmbeddingLayer({} as never)).toThrow(
      'positionalEmbeddingLayer: config.maxLength must be a positive integer, got undefined',
    );
    expect(() => tokenEmbeddingLayer({ vocabularySize: 0, outputDim: 2 })).toThrow(
      'tokenEmbeddingLayer: config.vocabularySize must be a positive integer, got 0',
    );
    tf.dispose([x, y]);
  });
});
