import { eaForward, groupedForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { elementwiseAttentionLayer, multiHeadAttentionLayer } from '../src/index.js';
import { type Block, block64, rms64 } from './block_reference.js';
import {
  disposeVariablesAfterEachTest,
  expectClose,
  layerWeights,
  perturb,
  randomNormal,
  saveToMemory,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';
import { multiHeadCore64 } from './softmax_reference.js';

/**
 * The block options beside attention (`shortConv`, `outputGate`; EA's `qkNorm`, `qkBound`)
 * against a float64 reference built from the layer's own weights.
 */

const [B, L, D] = [2, 7, 6];
const DIMS = { batch: B, length: L, channels: D };

disposeVariablesAfterEachTest();

interface EaCase {
  name: string;
  order: number | 'exact';
  groupSize: number;
  qkNorm: 'none' | 'rms';
  qkBound: number;
  block: Block;
}

describe.each(BACKENDS)('block options on %s', (backend) => {
  const eaCases: EaCase[] = [
    {
      name: 'EA-6, shortConv 4, output gate',
      order: 6,
      groupSize: 1,
      qkNorm: 'none',
      qkBound: 0,
      block: { shortConv: 4, outputGate: true, useBias: true },
    },
    {
      name: 'EA-2, qkNorm rms, qkBound 1.2, padding mask',
      order: 2,
      groupSize: 1,
      qkNorm: 'rms',
      qkBound: 1.2,
      block: {
        shortConv: 0,
        outputGate: false,
        useBias: true,
        mask: [1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
      },
    },
    {
      name: "EA 'exact' in groups of 3, shortConv 3, gate, no bias",
      order: 'exact',
      groupSize: 3,
      qkNorm: 'none',
      qkBound: 0,
      block: { shortConv: 3, outputGate: true, useBias: false },
    },
    {
      name: 'EA-4 in groups of 2, everything',
      order: 4,
      groupSize: 2,
      qkNorm: 'rms',
      qkBound: 2,
      block: { shortConv: 2, outputGate: true, useBias: true },
    },
  ] as const;

  for (const c of eaCases) {
    it(`${c.name}: y matches the float64 reference`, async () => {
      await useBackend(backend);
      const layer = elementwiseAttentionLayer({
        order: c.order,
        groupSize: c.groupSize,
        causal: true,
        qkNorm: c.qkNorm,
        qkBound: c.qkBound,
        shortConv: c.block.shortConv,
        outputGate: c.block.outputGate,
        useBias: c.block.useBias,
      });
      const x = randomNormal([B, L, D], 3, 1);
      const mask = c.block.mask ? tf.tensor2d(c.block.mask, [B, L]) : undefined;
      layer.apply(x);
      perturb(layer, 10);
      const y = layer.apply(x, mask ? { mask } : {}) as tf.Tensor;
      const { values: w } = layerWeights(layer);
      const reference = block64(
        DIMS,
        x.dataSync() as Float32Array,
        w,
        c.block,
        { key: D, value: D },
        (q, k, v) => {
          let [query, key] = [q, k];
          if (c.qkNorm === 'rms') {
            [query, key] = [rms64(q, w['query_norm/gain'], D), rms64(k, w['key_norm/gain'], D)];
          }
          if (c.qkBound > 0) {
            const bound = (t: Float64Array) =>
              t.map((value) => c.qkBound * Math.tanh(value / c.qkBound));
            [query, key] = [bound(query), bound(key)];
          }
          const inputs = {
            q: query,
            k: key,
            v,
            dims: { batch: B, queryLength: L, keyLength: L, channels: D },
            ...(c.block.mask ? { mask: c.block.mask } : {}),
          };
          return c.groupSize === 1
            ? eaForward(inputs, { order: c.order, causal: true }).y
            : groupedForward(inputs, { order: c.order, causal: true, groupSize: c.groupSize }).y;
        },
      );
      expectClose(y, reference, 2e-5, 'y');
      tf.dispose([x, y, ...(mask ? [mask] : [])]);
    });
  }

  it('softmax twin, shortConv 3 and output gate, 2 heads of 3 (values of 4): y matches the float64 reference', async () => {
    await useBackend(backend);
    const block = { shortConv: 3, outputGate: true, useBias: true };
    const heads = { numHeads: 2, keyDim: 3, valueDim: 4 };
    const layer = multiHeadAttentionLayer({ ...heads, causal: true, ...block });
    const x = randomNormal([B, L, D], 4, 1);
    layer.apply(x);
    perturb(layer, 20);
    const y = layer.apply(x) as tf.Tensor;
    const { values: w } = layerWeights(layer);
    const reference = block64(
      DIMS,
      x.dataSync() as Float32Array,
      w,
      block,
      { key: heads.numHeads * heads.keyDim, value: heads.numHeads * heads.valueDim },
      (q, k, v) => multiHeadCore64(q, k, v, { batch: B, length: L, causal: true, ...heads }),
    );
    expectClose(y, reference, 2e-5, 'y');
    tf.dispose([x, y]);
  });

  it('the options save and load with the model, and its predictions do not change', async () => {
    await useBackend(backend);
    const model = tfl.sequential({
      layers: [
        elementwiseAttentionLayer({
          inputShape: [L, D],
          order: 6,
          groupSize: 2,
          causal: true,
          qkNorm: 'rms',
          qkBound: 1.5,
          shortConv: 3,
          outputGate: true,
        }),
        multiHeadAttentionLayer({
          numHeads: 2,
          keyDim: 3,
          causal: true,
          shortConv: 2,
          outputGate: true,
        }),
      ],
    });
    const x = randomNormal([B, L, D], 5, 1);
    const before = model.predict(x) as tf.Tensor;
    const saved = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const after = loaded.predict(x) as tf.Tensor;
    expectClose(after, before.dataSync(), 1e-6, 'reloaded');
    const names = loaded.weights.map((w) => w.originalName.split('/').slice(1).join('/'));
    for (const name of ['query_conv/kernel', 'gate/kernel', 'query_norm/gain', 'key_norm/gain']) {
      expect(names).toContain(name);
    }
    tf.dispose([x, before, after]);
  });

  it('names a bad option, the expectation and what was given', () => {
    expect(() => elementwiseAttentionLayer({ shortConv: 1 })).toThrow(
      'elementwiseAttentionLayer: config.shortConv must be 0 (none) or an integer kernel size from 2 to 16, got 1',
    );
    expect(() => multiHeadAttentionLayer({ numHeads: 1, keyDim: 2, shortConv: 17 })).toThrow(
      'multiHeadAttentionLayer: config.shortConv must be 0 (none) or an integer kernel size from 2 to 16, got 17',
    );
    expect(() => elementwiseAttentionLayer({ outputGate: 'yes' as never })).toThrow(
      "elementwiseAttentionLayer: config.outputGate must be a boolean, got 'yes'",
    );
    expect(() => elementwiseAttentionLayer({ qkNorm: 'layer' as never })).toThrow(
      "elementwiseAttentionLayer: config.qkNorm must be 'none' or 'rms', got 'layer'",
    );
    expect(() => elementwiseAttentionLayer({ qkBound: 9 })).toThrow(
      'elementwiseAttentionLayer: config.qkBound must be 0 (unbounded) or a number in (0, 8], got 9',
    );
  });
});
