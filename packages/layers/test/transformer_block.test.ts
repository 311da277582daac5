import { eaForward, groupedForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  positionalEmbeddingLayer,
  type TransformerBlockLayerArgs,
  type TransformerBlockState,
  transformerBlockLayer,
} from '../src/index.js';
import { block64, gelu64, layerNorm64 } from './block_reference.js';
import {
  disposeVariablesAfterEachTest,
  expectClose,
  fitCharModel,
  layerWeights,
  matmul64,
  perturb,
  randomNormal,
  saveToMemory,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';
import { multiHeadCore64 } from './softmax_reference.js';

const [B, L, D] = [2, 6, 8];
const DIMS = { batch: B, length: L, channels: D };

disposeVariablesAfterEachTest();

/** The block in float64: its wiring around the attention layer's float64 reference. */
function transformerBlock64(
  x: Float32Array,
  w: Record<string, Float32Array>,
  config: TransformerBlockLayerArgs,
  seen: { q?: Float64Array; k?: Float64Array } = {},
): Float64Array {
  const rows = B * L;
  const attention = config.attention;
  const attend = (input: ArrayLike<number>) =>
    block64(
      DIMS,
      input,
      w,
      { shortConv: config.shortConv ?? 0, outputGate: config.outputGate ?? false, useBias: true },
      // EA's projections are D wide, and so are softmax's with keyDim = D / numHeads.
      { key: D, value: D },
      (q, k, v) => {
        Object.assign(seen, { q, k });
        if (attention.kind === 'softmax') {
          const heads = { numHeads: attention.numHeads, keyDim: D / attention.numHeads };
          return multiHeadCore64(q, k, v, {
            batch: B,
            length: L,
            causal: config.causal ?? false,
            ...heads,
            valueDim: heads.keyDim,
          });
        }
        const inputs = { q, k, v, dims: { batch: B, queryLength: L, keyLength: L, channels: D } };
        const groupSize = attention.groupSize ?? 1;
        const options = { order: attention.order ?? 6, causal: config.causal ?? false };
        return groupSize === 1
          ? eaForward(inputs, options).y
          : groupedForward(inputs, { ...options, groupSize }).y;
      },
    );
  const norm = (name: string, t: ArrayLike<number>) =>
    layerNorm64(t, w[`${name}/gain`], w[`${name}/bias`], D);
  const hidden = Math.round(D * (config.ffMultiplier ?? 4));
  const feedForward = (t: ArrayLike<number>) => {
    const expanded = matmul64(t, rows, D, w['expand/kernel'], hidden, w['expand/bias']);
    const activated = expanded.map((value) =>
      config.activation === 'relu' ? Math.max(0, value) : gelu64(value),
    );
    return matmul64(activated, rows, hidden, w['contract/kernel'], D, w['contract/bias']);
  };
  const add = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Float64Array.from(a, (value, i) => value + b[i]);
  if ((config.norm ?? 'post') === 'post') {
    const h = norm('attention_norm', add(x, attend(x)));
    return hidden === 0 ? h : norm('feed_forward_norm', add(h, feedForward(h)));
  }
  const h = add(x, attend(norm('attention_norm', x)));
  return hidden === 0 ? h : add(h, feedForward(norm('feed_forward_norm', h)));
}

const CONFIGS: { name: string; config: TransformerBlockLayerArgs }[] = [
  {
    name: 'Post-LN, EA-6 in groups of 4, short conv 3, FFN ×2 (GELU)',
    config: {
      attention: { kind: 'ea', order: 6, groupSize: 4 },
      causal: true,
      shortConv: 3,
      ffMultiplier: 2,
    },
  },
  {
    name: 'Pre-LN, EA-2 with an output gate, FFN ×1 (ReLU)',
    config: {
      attention: { kind: 'ea', order: 2 },
      causal: true,
      outputGate: true,
      norm: 'pre',
      ffMultiplier: 1,
      activation: 'relu',
    },
  },
  {
    name: 'Post-LN, attention only (ffMultiplier 0), softmax with 2 heads',
    config: { attention: { kind: 'softmax', numHeads: 2 }, causal: true, ffMultiplier: 0 },
  },
];

describe.each(BACKENDS)('transformerBlockLayer on %s', (backend) => {
  for (const { name, config } of CONFIGS) {
    it(`${name}: y matches the float64 reference, and prefill + steps equal the call`, async () => {
      await useBackend(backend);
      const block = transformerBlockLayer(config);
      const x = randomNormal([B, L, D], 1, 1);
      block.apply(x);
      perturb(block, 7);
      const y = block.apply(x) as tf.Tensor;
      const { values } = layerWeights(block);
      const reference = transformerBlock64(x.dataSync() as Float32Array, values, config);
      expectClose(y, reference, 2e-5, 'y');

      const before = tf.memory().numTensors;
      const prompt = tf.slice(x, [0, 0, 0], [B, 2, D]);
      const first = block.prefill(prompt);
      const rows = [first.y];
      let state: TransformerBlockState = first.state;
      for (let i = 2; i < L; i++) {
        const xt = tf.tidy(() => tf.reshape(tf.slice(x, [0, i, 0], [B, 1, D]), [B, D]));
        const next = block.step(xt, state);
        tf.dispose([xt, ...Object.values(state)]);
        rows.push(tf.expandDims(next.y, 1) as tf.Tensor3D);
        tf.dispose(next.y);
        state = next.state;
      }
      const recurrent = tf.concat(rows, 1);
      expectClose(recurrent, y.dataSync(), 1e-5, 'prefill + steps');
      tf.dispose([prompt, recurrent, ...rows, ...Object.values(state)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
    });

    it(`${name}: queriesAndKeys gives the q and k its attention compares`, async () => {
      await useBackend(backend);
      const block = transformerBlockLayer(config);
      const x = randomNormal([B, L, D], 2, 1);
      expect(() => block.queriesAndKeys(x)).toThrow(
        'TransformerBlock.queriesAndKeys: the block is not built yet',
      );
      tf.dispose(block.apply(x) as tf.Tensor);
      perturb(block, 3);
      const seen: { q?: Float64Array; k?: Float64Array } = {};
      transformerBlock64(x.dataSync() as Float32Array, layerWeights(block).values, config, seen);
      const before = tf.memory().numTensors;
      const { query, key } = block.queriesAndKeys(x);
      expect(query.shape).toEqual([B, L, D]);
      expectClose(query, seen.q!, 2e-5, 'query');
      expectClose(key, seen.k!, 2e-5, 'key');
      tf.dispose([query, key]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });
  }

  it('a char model of blocks trains with model.fit, with dropout only in training, and reloads with its weights', async () => {
    await useBackend(backend);
    const blocks = [
      transformerBlockLayer({
        attention: { kind: 'ea', order: 6, groupSize: 4 },
        causal: true,
        shortConv: 3,
        dropout: 0.1,
      }),
      transformerBlockLayer({ attention: { kind: 'softmax', numHeads: 2 }, causal: true }),
    ];
    const { model, xs, ys } = await fitCharModel(8, blocks, 12);
    const once = model.predict(xs) as tf.Tensor;
    const twice = model.predict(xs) as tf.Tensor;
    expectClose(twice, once.dataSync(), 0, 'inference has no dropout');
    const saved = await saveToMemory(model);
    const names = (saved?.weightSpecs ?? []).map((spec) => spec.name);
    expect(names.filter((n) => n.endsWith('query/kernel'))).toHaveLength(2);
    expect(names.filter((n) => n.endsWith('feed_forward/expand/kernel'))).toHaveLength(2);
    expect(new Set(names).size).toBe(names.length);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    expectClose(loaded.predict(xs) as tf.Tensor, once.dataSync(), 1e-6, 'reloaded');
    tf.dispose([xs, ys, once, twice]);
  });

  it('dropout: off in inference, reproducible with kwargs.seed, fresh masks without it', async () => {
    await useBackend(backend);
    const x = tfl.input({ shape: [6, 8] });
    const positional = positionalEmbeddingLayer({ maxLength: 6, dropout: 0.3, name: 'p' });
    const block = transformerBlockLayer({
      attention: { kind: 'ea', order: 2 },
      causal: true,
      ffMultiplier: 2,
      dropout: 0.3,
      name: 'b',
    });
    const model = tfl.model({ inputs: x, outputs: block.apply(positional.apply(x)) as never });
    const input = randomNormal([2, 6, 8], 5, 1);
    const run = (kwargs: Record<string, unknown>) =>
      (model.apply(input, kwargs) as tf.Tensor).dataSync();
    const inference = run({});
    expectClose(tf.tensor(run({ training: false, seed: 1 })), inference, 0, 'inference');
    const seeded = run({ training: true, seed: 1 });
    expectClose(tf.tensor(run({ training: true, seed: 1 })), seeded, 0, 'same seed');
    const differs = (a: Float32Array, b: Float32Array) =>
      a.some((value, i) => Math.abs(value - b[i]) > 1e-3);
    expect(differs(run({ training: true, seed: 2 }) as Float32Array, seeded as Float32Array)).toBe(
      true,
    );
    expect(differs(seeded as Float32Array, inference as Float32Array)).toBe(true);
    expect(
      differs(run({ training: true }) as Float32Array, run({ training: true }) as Float32Array),
    ).toBe(true);
    expect(() => model.apply(input, { training: true, seed: 'one' })).toThrow(
      "PositionalEmbedding 'p': kwargs.seed must be a finite number, got 'one'",
    );
    input.dispose();
  });

  it('names a bad config field, the expectation and what was given', () => {
    const ea = { kind: 'ea' } as const;
    expect(() => transformerBlockLayer({ attention: { kind: 'linear' } as never })).toThrow(
      "transformerBlockLayer: config.attention must be {kind: 'ea', …} or {kind: 'softmax', numHeads, …}, got an object",
    );
    expect(() => transformerBlockLayer({ attention: ea, norm: 'middle' as never })).toThrow(
      "transformerBlockLayer: config.norm must be 'post' or 'pre', got 'middle'",
    );
    expect(() => transformerBlockLayer({ attention: ea, ffMultiplier: -1 })).toThrow(
      'transformerBlockLayer: config.ffMultiplier must be a finite number >= 0 (0: no feed-forward), got -1',
    );
    expect(() => transformerBlockLayer({ attention: ea, dropout: 1 })).toThrow(
      'transformerBlockLayer: config.dropout must be a number in [0, 1), got 1',
    );
    expect(() => transformerBlockLayer({ attention: ea, activation: 'tanh' as never })).toThrow(
      "transformerBlockLayer: config.activation must be 'gelu' or 'relu', got 'tanh'",
    );
    expect(() => transformerBlockLayer({ attention: { kind: 'ea', order: 3 } })).toThrow(
      'elementwiseAttentionLayer: config.order must be an even integer',
    );
  });
});
