import { TransformerBlock } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { configParameterCount } from '../src/config/parameter_count.js';
import { MAX_LENGTH, MAX_PARAMETERS } from '../src/config/validate_config.js';
import { ConfigError, createModel, loadModel, type ModelConfig, train } from '../src/index.js';
import { expectedWeights } from '../src/io/expected_weights.js';
import { FORMAT_VERSION, GENERATED_BY, MODEL_FORMAT } from '../src/io/format.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const bad = (config: unknown) => () => createModel(config as ModelConfig, { seed: 1 });

describe('createModel config validation', () => {
  it('names the field and the expected value', () => {
    expect(bad(tinyCharLM({ dModel: 30, numHeads: 4 }))).toThrow(
      /config\.dModel \(30\) must be divisible by config\.numHeads \(4\)/,
    );
    expect(bad(tinyCharLM({ attention: { kind: 'ea', order: 3 } }))).toThrow(
      "config.attention.order must be an even integer >= 0 or 'exact', got 3",
    );
    expect(bad(tinyCharLM({ attention: { kind: 'ea', order: -2 } }))).toThrow(
      /order must be an even/,
    );
    for (const order of [42, 1e6, 1e9]) {
      expect(bad(tinyCharLM({ attention: { kind: 'ea', order } }))).toThrow(
        `config.attention.order must be an even integer from 0 to MAX_ORDER = 40 or 'exact' (higher Taylor terms underflow or overflow float32), got ${order}`,
      );
    }
    expect(bad(tinyCharLM({ attention: { kind: 'ea', order: 40 } }))).not.toThrow();
    expect(bad(tinyCharLM({ attention: { kind: 'linear' } as never }))).toThrow(
      "config.attention.kind must be 'ea' or 'softmax', got 'linear'",
    );
    expect(bad(tinyCharLM({ norm: 'middle' as never }))).toThrow(
      "config.norm must be one of 'post', 'pre', got 'middle'",
    );
    expect(bad(tinyCharLM({ dropout: 1 }))).toThrow(
      'config.dropout must be a number in [0, 1), got 1',
    );
    expect(bad(tinyCharLM({ ffMultiplier: -1 }))).toThrow(
      'config.ffMultiplier must be a finite number >= 0 (0: attention-only blocks), got -1',
    );
    expect(bad(tinyCharLM({ maxLength: 0 }))).toThrow(
      'config.maxLength must be a positive integer, got 0',
    );
    expect(bad(tinyCharLM({ vocabulary: 'abca' }))).toThrow(/"a" repeats/);
    expect(bad({ ...tinyCharLM(), task: 'translation' })).toThrow(/config\.task must be one of/);
    expect(bad({ ...tinyCharLM(), numHead: 2 })).toThrow(/unknown field numHead/);
    expect(bad(tinyCharLM({ attention: { kind: 'softmax', order: 2 } as never }))).toThrow(
      /unknown field attention\.order/,
    );
    expect(
      bad({
        task: 'forecaster',
        inputChannels: 2,
        horizon: 3,
        normalization: { mean: [0], std: [1, 1] },
        dModel: 8,
        numHeads: 1,
        numLayers: 1,
        maxLength: 8,
        attention: { kind: 'softmax' },
      }),
    ).toThrow(
      'config.normalization.mean must be 2 finite numbers (inputChannels), got an array of length 1',
    );
    expect(
      bad({
        task: 'sequence-classifier',
        inputChannels: 2,
        numClasses: 3,
        classNames: ['a', 'b'],
        dModel: 8,
        numHeads: 1,
        numLayers: 1,
        maxLength: 8,
        attention: { kind: 'softmax' },
      }),
    ).toThrow(/classNames must be 3 strings/);
    expect(bad(tinyCharLM())).not.toThrow();
  });

  it('throws ConfigError and creates no variables for a bad config', () => {
    const before = tf.memory().numTensors;
    expect(bad(tinyCharLM({ numHeads: 5 }))).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the field for a bad short convolution or output gate', () => {
    for (const shortConv of [1, -1, 2.5, 17, '4', null]) {
      expect(bad(tinyCharLM({ shortConv: shortConv as number }))).toThrow(
        /config\.shortConv must be 0 \(none\) or an integer kernel size from 2 to 16, got/,
      );
    }
    expect(bad(tinyCharLM({ outputGate: 'yes' as unknown as boolean }))).toThrow(
      "config.outputGate must be true or false, got 'yes'",
    );
    expect(bad(tinyCharLM({ shortConv: 16, outputGate: true }))).not.toThrow();
    for (const qkBound of [-1, 8.5, Number.NaN, '1']) {
      const attention = { kind: 'ea' as const, order: 6, qkBound: qkBound as number };
      expect(bad(tinyCharLM({ attention }))).toThrow(
        /config\.attention\.qkBound must be 0 \(unbounded\) or a bound in \(0, 8\], got/,
      );
    }
  });

  it('names the field for a bad group size', () => {
    const grouped = (groupSize: unknown, order: number | 'exact' = 2) =>
      tinyCharLM({ attention: { kind: 'ea', order, groupSize: groupSize as number } });
    for (const groupSize of [0, 1.5, '2', null]) {
      expect(bad(grouped(groupSize))).toThrow(
        /config\.attention\.groupSize must be an integer >= 1, got/,
      );
    }
    const dModel = tinyCharLM().dModel;
    expect(bad(grouped(dModel + 1))).toThrow(
      `config.attention.groupSize must divide config.dModel (${dModel}), got ${dModel + 1}`,
    );
    expect(
      bad(tinyCharLM({ dModel: 64, attention: { kind: 'ea', order: 8, groupSize: 32 } })),
    ).toThrow(/groupSize 32 at order 8 needs 76904685 Taylor features per channel, more than 4096/);
    expect(bad(grouped(2))).not.toThrow();
    expect(bad(grouped(dModel, 'exact'))).not.toThrow();
  });

  it('fills in the defaults (Post-LN, GELU, 4x, dropout 0.1, sinusoidal, qkNorm none, no conv, no gate)', () => {
    const model = createModel(
      {
        task: 'char-lm',
        vocabulary: 'ab',
        dModel: 8,
        numHeads: 2,
        numLayers: 1,
        maxLength: 4,
        attention: { kind: 'ea', order: 2 },
      },
      { seed: 1 },
    );
    expect(model.config).toEqual({
      task: 'char-lm',
      vocabulary: 'ab',
      dModel: 8,
      numHeads: 2,
      numLayers: 1,
      ffMultiplier: 4,
      activation: 'gelu',
      dropout: 0.1,
      norm: 'post',
      positional: 'sinusoidal',
      shortConv: 0,
      outputGate: false,
      maxLength: 4,
      attention: { kind: 'ea', order: 2, qkNorm: 'none', qkBound: 0, groupSize: 1 },
    });
    model.dispose();
  });

  it('gives the same weights for the same seed, and EA and softmax twins the same parameter count', () => {
    const a = createModel(tinyCharLM(), { seed: 7 });
    const b = createModel(tinyCharLM(), { seed: 7 });
    const c = createModel(tinyCharLM(), { seed: 8 });
    const twin = createModel(tinyCharLM({ attention: { kind: 'softmax' } }), { seed: 7 });
    const name = 'block_1/key/kernel';
    const values = (m: typeof a) => Array.from(m.getWeights()[name].dataSync());
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    expect(twin.parameterCount()).toBe(a.parameterCount());
    expect(Object.keys(twin.getWeights())).toEqual(Object.keys(a.getWeights()));
    const options = { shortConv: 4, outputGate: true };
    const gated = createModel(tinyCharLM(options), { seed: 7 });
    const gatedTwin = createModel(tinyCharLM({ ...options, attention: { kind: 'softmax' } }), {
      seed: 7,
    });
    expect(gatedTwin.parameterCount()).toBe(gated.parameterCount());
    // Per layer: three convolutions (kernel 4 × d and a bias) and a gate (d × d and a bias).
    const d = a.config.dModel;
    const layers = a.config.numLayers;
    expect(gated.parameterCount() - a.parameterCount()).toBe(layers * (3 * 5 * d + d * d + d));
    for (const m of [a, b, c, twin, gated, gatedTwin]) m.dispose();
  });

  it('ffMultiplier 0 builds attention-only blocks: no feed-forward weights, and the model trains', async () => {
    const model = createModel(tinyCharLM({ ffMultiplier: 0 }), { seed: 1 });
    const names = Object.keys(model.getWeights());
    expect(names.some((name) => name.includes('feed_forward'))).toBe(false);
    expect(names.some((name) => name.includes('attention'))).toBe(true);
    const { history } = await train(
      model,
      { train: { kind: 'text', text: TEXT } },
      { steps: 30, batchSize: 4, learningRate: 1e-2, seed: 1 },
    );
    const mean = (events: typeof history) =>
      events.reduce((sum, e) => sum + e.loss, 0) / events.length;
    expect(mean(history.slice(-5))).toBeLessThan(mean(history.slice(0, 5)) - 0.3);
    model.dispose();
  });

  it('computes the parameter count and the weights from the config alone, as the built model has them', () => {
    const configs: ModelConfig[] = [
      tinyCharLM(),
      tinyCharLM({ positional: 'learned', norm: 'pre', ffMultiplier: 1.5 }),
      tinyCharLM({ ffMultiplier: 0 }),
      tinyCharLM({ ffMultiplier: 0, norm: 'pre' }),
      tinyCharLM({
        shortConv: 3,
        outputGate: true,
        attention: { kind: 'ea', order: 2, qkNorm: 'rms' },
      }),
      {
        task: 'sequence-classifier',
        inputChannels: 3,
        numClasses: 5,
        dModel: 8,
        numHeads: 2,
        numLayers: 2,
        maxLength: 6,
        attention: { kind: 'softmax' },
      },
      {
        task: 'forecaster',
        inputChannels: 2,
        horizon: 4,
        dModel: 8,
        numHeads: 1,
        numLayers: 1,
        maxLength: 6,
        positional: 'time',
        attention: { kind: 'ea', order: 'exact' },
      },
      {
        task: 'forecaster',
        inputChannels: 3,
        horizon: 2,
        dModel: 8,
        numHeads: 2,
        numLayers: 2,
        maxLength: 6,
        norm: 'pre',
        positional: 'learned',
        ffMultiplier: 2.5,
        shortConv: 2,
        outputGate: true,
        attention: { kind: 'softmax' },
      },
    ];
    for (const config of configs) {
      const model = createModel(config, { seed: 1 });
      expect(configParameterCount(model.config), JSON.stringify(config)).toBe(
        model.parameterCount(),
      );
      // What a loader compares an untrusted manifest with before building anything.
      const built = Object.entries(model.getWeights()).map(([name, w]) => ({
        name,
        shape: w.shape,
      }));
      expect(expectedWeights(model.config), JSON.stringify(config)).toEqual(built);
      model.dispose();
    }
  });

  it('refuses a config too large to hold before allocating anything', () => {
    const memory = tf.memory();
    const limit = `more than MAX_PARAMETERS = ${MAX_PARAMETERS.toLocaleString('en-US')} (1 GiB of float32 weights)`;
    expect(bad(tinyCharLM({ dModel: 1e5, numHeads: 1 }))).toThrow(
      `createModel: the config describes a model of 240,008,600,030 parameters, ${limit}; reduce dModel, numLayers, ffMultiplier, the vocabulary (dModel 100000, numLayers 2, maxLength 16)`,
    );
    expect(bad(tinyCharLM({ dModel: 32, positional: 'learned', maxLength: 1e7 }))).toThrow(
      'reduce dModel, numLayers, ffMultiplier, maxLength (learned positions), the vocabulary (dModel 32, numLayers 2, maxLength 10000000)',
    );
    expect(bad(tinyCharLM({ numLayers: 1e9 }))).toThrow(limit);
    expect(bad(tinyCharLM({ ffMultiplier: 1e8 }))).toThrow(limit);
    expect(bad(tinyCharLM({ maxLength: 1e10 }))).toThrow(
      'createModel: config.maxLength must be at most MAX_LENGTH = 16777216 (longer positions are not exact in float32), got 10000000000',
    );
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
  });

  it('frees the variables already created when building a model fails part way', () => {
    // The second block fails to build, after the embedding's and the first block's weights exist.
    const build = TransformerBlock.prototype.build;
    let calls = 0;
    const spy = vi.spyOn(TransformerBlock.prototype, 'build').mockImplementation(function (
      this: TransformerBlock,
      shape,
    ) {
      if (++calls === 2) throw new Error('out of memory (simulated)');
      build.call(this, shape);
    });
    const memory = tf.memory();
    const variables = Object.keys(tf.engine().registeredVariables).length;
    try {
      expect(bad(tinyCharLM())).toThrow('out of memory (simulated)');
      expect(calls).toBe(2);
      expect(tf.memory().numTensors).toBe(memory.numTensors);
      expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
      expect(Object.keys(tf.engine().registeredVariables)).toHaveLength(variables);
    } finally {
      spy.mockRestore();
    }
  });

  it('accepts maxLength = MAX_LENGTH, whose sinusoidal positions hold no parameters', () => {
    const model = createModel(tinyCharLM({ maxLength: MAX_LENGTH }), { seed: 1 });
    expect(model.maxLength).toBe(2 ** 24);
    model.dispose();
  });

  it('refuses a small model.json that claims a huge config before reading weights', async () => {
    const memory = tf.memory();
    const claim = (config: ModelConfig) =>
      loadModel(
        tf.io.fromMemory({
          format: MODEL_FORMAT,
          generatedBy: GENERATED_BY,
          weightSpecs: [],
          weightData: new ArrayBuffer(0),
          userDefinedMetadata: { elementwise: { formatVersion: FORMAT_VERSION, config } },
        }),
      );
    await expect(claim(tinyCharLM({ dModel: 1e5, numHeads: 1 }))).rejects.toThrow(
      'loadModel(IOHandler): config: the config describes a model of 240,008,600,030 parameters',
    );
    await expect(claim(tinyCharLM({ positional: 'learned', maxLength: 1e10 }))).rejects.toThrow(
      'config.maxLength must be at most MAX_LENGTH = 16777216',
    );
    const learned = tinyCharLM({ dModel: 32, positional: 'learned', maxLength: 1e7 });
    await expect(claim(learned)).rejects.toThrow('maxLength (learned positions)');
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
  });
});
