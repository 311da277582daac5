import type * as Tfjs from '@tensorflow/tfjs';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  elementwiseAttentionLayer,
  linearLayer,
  multiHeadAttentionLayer,
  positionalEmbeddingLayer,
} from '../src/index.js';
import { saveToMemory, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';
import { trainSaveLoadPredict } from './story.js';

/** tfjs-core and tfjs-layers as one `tf` namespace, the way the union package presents them. */
const tf = { ...tfc, ...tfl } as unknown as typeof Tfjs;

const ATTENTIONS = [
  {
    name: 'elementwiseAttentionLayer({order: 6, causal: true})',
    className: 'ElementwiseAttentionLayer',
    make: (causal = true) => elementwiseAttentionLayer({ order: 6, causal }),
  },
  {
    name: 'multiHeadAttentionLayer({numHeads: 2, keyDim: 8, causal: true})',
    className: 'MultiHeadAttentionLayer',
    make: (causal = true) => multiHeadAttentionLayer({ numHeads: 2, keyDim: 8, causal }),
  },
];

describe.each(BACKENDS)('tfjs models on %s (tfjs-core + tfjs-layers)', (backend) => {
  it.each(ATTENTIONS)(
    'tf.sequential of embedding, $name and dense fits, saves, loads and predicts identically',
    async ({ make, className }) => {
      await useBackend(backend);
      // tfjs 4.22's wasm backend cannot train tf.layers.embedding (see story.ts).
      const inputs = backend === 'wasm' ? 'one-hot' : 'embedding';
      await trainSaveLoadPredict(
        tf,
        () => make() as unknown as Tfjs.layers.Layer,
        className,
        inputs,
      );
    },
  );

  it.each(ATTENTIONS)(
    'a functional tf.model with a masked embedding: $name sees the mask as its key mask',
    async ({ make }) => {
      await useBackend(backend);
      const build = (maskZero: boolean) => {
        const input = tfl.input({ shape: [null], dtype: 'int32' });
        const embedded = tfl.layers
          .embedding({
            inputDim: 7,
            outputDim: 8,
            maskZero,
            embeddingsInitializer: tfl.initializers.randomNormal({ seed: 1 }),
          })
          .apply(input) as tfl.SymbolicTensor;
        // The mask passes through the positions and a linear map on its way to the attention.
        const positioned = positionalEmbeddingLayer({ maxLength: 8 }).apply(embedded);
        const mapped = linearLayer({ units: 8 }).apply(positioned) as tfl.SymbolicTensor;
        // Non-causal, so that padding after the tokens could be seen.
        const attended = make(false).apply(mapped) as tfl.SymbolicTensor;
        const output = tfl.layers
          .dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })
          .apply(attended) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: output });
      };
      const masked = build(true);
      const unmasked = build(false);
      unmasked.setWeights(masked.getWeights());
      const short = tfc.tensor2d([[3, 1, 4]], undefined, 'int32');
      const padded = tfc.tensor2d([[3, 1, 4, 0, 0]], undefined, 'int32');
      const reference = (masked.predict(short) as tfc.Tensor).arraySync() as number[][][];
      const withMask = (masked.predict(padded) as tfc.Tensor).arraySync() as number[][][];
      const withoutMask = (unmasked.predict(padded) as tfc.Tensor).arraySync() as number[][][];
      // Padding is invisible to the real tokens only if the embedding's mask reached the op.
      for (let i = 0; i < 3; i++) {
        for (let c = 0; c < 3; c++) {
          expect(withMask[0][i][c]).toBeCloseTo(reference[0][i][c], 5);
        }
      }
      const moved = withoutMask[0]
        .slice(0, 3)
        .some((row, i) => row.some((value, c) => Math.abs(value - reference[0][i][c]) > 1e-4));
      expect(moved).toBe(true);

      // The masked functional model saves and loads like any tfjs model.
      const loaded = await tfl.loadLayersModel(tfc.io.fromMemory(await saveToMemory(masked)));
      const again = (loaded.predict(padded) as tfc.Tensor).arraySync();
      expect(again).toEqual(withMask);
      tfc.dispose([short, padded]);
      for (const model of [masked, unmasked, loaded]) model.dispose();
    },
  );

  it.each(ATTENTIONS)(
    'tf.memory().numTensors is unchanged over 100 fit batches: $name',
    async ({ make }) => {
      await useBackend(backend);
      const model = tfl.sequential();
      // tfjs 4.22's wasm backend cannot train tf.layers.embedding (see story.ts).
      const oneHot = backend === 'wasm';
      model.add(
        oneHot
          ? tfl.layers.dense({ units: 8, inputShape: [6, 5] })
          : tfl.layers.embedding({ inputDim: 5, outputDim: 8, inputLength: 6, maskZero: true }),
      );
      model.add(make());
      model.add(tfl.layers.dense({ units: 5, activation: 'softmax' }));
      model.compile({ optimizer: tfc.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
      const batches = 100;
      const tokens = Array.from({ length: 2 * batches }, (_, s) =>
        Array.from({ length: 7 }, (_, i) => (s + i) % 5),
      );
      const ids = tfc.tensor2d(
        tokens.map((t) => t.slice(0, 6)),
        undefined,
        'int32',
      );
      const xs = oneHot ? tfc.cast(tfc.oneHot(ids, 5), 'float32') : ids;
      const ys = tfc.tensor3d(tokens.map((t) => t.slice(1).map((token) => [token])));
      // The first batch creates the optimizer's slots; count from there.
      const [x0, y0] = [tfc.slice(xs, 0, 2), tfc.slice(ys, 0, 2)];
      await model.fit(x0, y0, { epochs: 1, verbose: 0 });
      tfc.dispose([x0, y0]);
      const before = tfc.memory().numTensors;
      const history = await model.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
      expect(history.history.loss).toHaveLength(1);
      expect(tfc.memory().numTensors).toBe(before);
      tfc.dispose([ids, xs, ys]);
      model.dispose();
    },
  );
});
