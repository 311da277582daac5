import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ElementwiseAttentionLayer,
  elementwiseAttentionLayer,
  MultiHeadAttentionLayer,
  multiHeadAttentionLayer,
} from '../src/index.js';
import { useBackend } from './helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Rebuilds a layer from its config as tfjs does when loading: fromConfig with customObjects. */
function roundTrip<T extends tfl.layers.Layer>(layer: T): T {
  const [cls, fromConfig] =
    tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  const config = JSON.parse(JSON.stringify(layer.getConfig()));
  return fromConfig(cls, { ...config, customObjects: {} }) as T;
}

describe('registration and serialization', () => {
  it('registers both classes with tfjs serialization on import', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.ElementwiseAttentionLayer[0]).toBe(ElementwiseAttentionLayer);
    expect(map.MultiHeadAttentionLayer[0]).toBe(MultiHeadAttentionLayer);
    expect(elementwiseAttentionLayer()).toBeInstanceOf(tfl.layers.Layer);
  });

  it('getConfig is plain JSON with the base config, and fromConfig rebuilds the same layer', () => {
    const ea = elementwiseAttentionLayer({
      order: 'exact',
      causal: true,
      groupSize: 2,
      useBias: false,
      name: 'ea',
      kernelInitializer: tfl.initializers.constant({ value: 0.5 }),
      biasInitializer: 'ones',
    });
    const config = ea.getConfig();
    expect(JSON.parse(JSON.stringify(config))).toEqual({
      order: 'exact',
      causal: true,
      groupSize: 2,
      qkNorm: 'none',
      qkBound: 0,
      useBias: false,
      kernelInitializer: { className: 'Constant', config: { value: 0.5 } },
      biasInitializer: { className: 'Ones', config: {} },
      shortConv: 0,
      outputGate: false,
      name: 'ea',
      trainable: true,
    });
    const copy = roundTrip(ea);
    expect(copy.getConfig()).toEqual(config);
    const y = copy.apply(tf.ones([1, 2, 4])) as tf.Tensor;
    expect(
      copy
        .getWeights()[0]
        .dataSync()
        .every((value) => value === 0.5),
    ).toBe(true);
    y.dispose();

    const mha = multiHeadAttentionLayer({
      numHeads: 3,
      keyDim: 2,
      valueDim: 5,
      causal: true,
      inputShape: [7, 6],
      name: 'mha',
    });
    const mhaConfig = JSON.parse(JSON.stringify(mha.getConfig()));
    expect(mhaConfig).toMatchObject({
      numHeads: 3,
      keyDim: 2,
      valueDim: 5,
      causal: true,
      useBias: true,
      kernelInitializer: { className: 'VarianceScaling' },
      biasInitializer: { className: 'Zeros', config: {} },
      batchInputShape: [null, 7, 6],
      name: 'mha',
    });
    expect(roundTrip(mha).getConfig()).toEqual(mha.getConfig());
  });

  it('computeOutputShape is the input shape, and weights are made in build with addWeight', () => {
    const ea = elementwiseAttentionLayer({ order: 2 });
    expect(ea.computeOutputShape([null, 5, 8])).toEqual([null, 5, 8]);
    const mha = multiHeadAttentionLayer({ numHeads: 2, keyDim: 3, valueDim: 4 });
    const input = tfl.input({ shape: [null, 6] });
    const output = mha.apply(input) as tfl.SymbolicTensor;
    expect(output.shape).toEqual([null, null, 6]);
    expect(
      mha.weights.map((w) => [w.originalName.split('/').slice(-2).join('/'), w.shape]),
    ).toEqual([
      ['query/kernel', [6, 6]],
      ['query/bias', [6]],
      ['key/kernel', [6, 6]],
      ['key/bias', [6]],
      ['value/kernel', [6, 8]],
      ['value/bias', [8]],
      ['output/kernel', [8, 6]],
      ['output/bias', [6]],
    ]);
    expect(ea.built).toBe(false);
    expect(mha.countParams()).toBe(2 * 6 * 6 + 6 * 8 + 8 * 6 + (6 + 6 + 8 + 6));
  });

  it('accepts initializers as instances, names, and {className, config}', () => {
    const values = (init: unknown) => {
      const layer = elementwiseAttentionLayer({ kernelInitializer: init as never, useBias: false });
      tf.tidy(() => {
        layer.apply(tf.ones([1, 1, 3]));
      });
      return Array.from(layer.getWeights()[0].dataSync());
    };
    expect(values('zeros')).toEqual(new Array(9).fill(0));
    expect(values('ones')).toEqual(new Array(9).fill(1));
    const seeded = tfl.initializers.glorotUniform({ seed: 5 });
    const serialized = { className: seeded.getClassName(), config: seeded.getConfig() };
    expect(values(serialized)).toEqual(values(tfl.initializers.glorotUniform({ seed: 5 })));
  });
});

describe('errors name the argument, the expected value and what was given', () => {
  const cases: [string, () => unknown, string][] = [
    [
      'odd order',
      () => elementwiseAttentionLayer({ order: 3 }),
      "elementwiseAttentionLayer: config.order must be an even integer >= 0 or 'exact', got 3",
    ],
    [
      'order above MAX_ORDER',
      () => elementwiseAttentionLayer({ order: 42 }),
      'elementwiseAttentionLayer: config.order must be an even integer from 0 to MAX_ORDER = 40',
    ],
    [
      'non-boolean causal',
      () => elementwiseAttentionLayer({ causal: 'yes' as never }),
      "elementwiseAttentionLayer: config.causal must be a boolean, got 'yes'",
    ],
    [
      'unknown key (typo)',
      () => elementwiseAttentionLayer({ casual: true } as never),
      "elementwiseAttentionLayer: unknown config key 'casual'; expected one of order, groupSize, qkNorm, qkBound, causal, useBias",
    ],
    [
      'config that is not an object',
      () => elementwiseAttentionLayer(6 as never),
      'elementwiseAttentionLayer: config must be an object with any of order',
    ],
    [
      'groupSize 0',
      () => elementwiseAttentionLayer({ groupSize: 0 }),
      'elementwiseAttentionLayer: config.groupSize must be a positive integer, got 0',
    ],
    [
      'too many grouped features',
      () => elementwiseAttentionLayer({ groupSize: 16, order: 8 }),
      'elementwiseAttentionLayer: config.groupSize 16 at order 8 needs C(d + t, t) = 735471 Taylor features per channel, more than 4096',
    ],
    [
      'unknown initializer name',
      () => elementwiseAttentionLayer({ kernelInitializer: 'nope' }),
      "elementwiseAttentionLayer: config.kernelInitializer must be an initializer (e.g. tf.initializers.glorotUniform({seed: 1})), one of 'zeros'",
    ],
    [
      'unknown initializer class',
      () => elementwiseAttentionLayer({ biasInitializer: { className: 'Nope', config: {} } }),
      "elementwiseAttentionLayer: config.biasInitializer.className must name a registered tfjs initializer class, got 'Nope'",
    ],
    [
      'empty name',
      () => elementwiseAttentionLayer({ name: '' }),
      "elementwiseAttentionLayer: config.name must be a non-empty string, got ''",
    ],
    [
      'groupSize that does not divide D',
      () => elementwiseAttentionLayer({ groupSize: 2 }).apply(tf.zeros([1, 2, 5])),
      "ElementwiseAttentionLayer.build: config.groupSize must divide the input's channel count D = 5, got 2",
    ],
    [
      'rank-2 symbolic input',
      () => elementwiseAttentionLayer().apply(tfl.input({ shape: [4] })),
      'ElementwiseAttentionLayer.build: input shape must be [B, L, D] with a known D, got [null, 4]',
    ],
    [
      'missing MHA config',
      () => (multiHeadAttentionLayer as (args?: unknown) => unknown)(),
      'multiHeadAttentionLayer: config is required, e.g. {numHeads: 4, keyDim: 16, causal: true}',
    ],
    [
      'numHeads 0',
      () => multiHeadAttentionLayer({ numHeads: 0, keyDim: 4 }),
      'multiHeadAttentionLayer: config.numHeads must be a positive integer, got 0',
    ],
    [
      'missing keyDim',
      () => multiHeadAttentionLayer({ numHeads: 2 } as never),
      'multiHeadAttentionLayer: config.keyDim must be a positive integer, got undefined',
    ],
    [
      'unknown MHA key',
      () => multiHeadAttentionLayer({ numHeads: 2, keyDim: 2, heads: 2 } as never),
      "multiHeadAttentionLayer: unknown config key 'heads'; expected one of numHeads, keyDim, valueDim",
    ],
  ];
  it.each(cases)('%s', (_, make, message) => {
    expect(make).toThrow(message);
  });

  it('in calls, prefill, step and initState', () => {
    const ea = elementwiseAttentionLayer({ causal: true });
    tf.dispose(ea.apply(tf.zeros([1, 2, 6])) as tf.Tensor);
    const at = `ElementwiseAttentionLayer '${ea.name}'`;
    expect(() => ea.apply(tf.zeros([1, 2, 7]))).toThrow(
      `${at}: x must have shape [B, L, D] = [?, ?, 6], got [1, 2, 7]`,
    );
    expect(() => ea.apply(tf.zeros([1, 2, 6], 'int32'))).toThrow(
      `${at}: x must have dtype float32, got int32`,
    );
    expect(() => ea.apply(tf.zeros([2, 5, 6]), { mask: tf.ones([2, 4]) })).toThrow(
      `${at}: mask must have shape [B, L] = [2, 5], got [2, 4]`,
    );
    expect(() => elementwiseAttentionLayer().initState(1)).toThrow(
      'ElementwiseAttentionLayer.initState: needs a causal layer (construct it with causal: true); this one is not causal',
    );
    expect(() =>
      elementwiseAttentionLayer({ order: 'exact', causal: true }).step(
        tf.zeros([1, 6]),
        {} as never,
      ),
    ).toThrow(
      "ElementwiseAttentionLayer.step: order 'exact' has no recurrent form; use an even series order such as 6",
    );
    expect(() => ea.initState(0)).toThrow(
      'ElementwiseAttentionLayer.initState: batch must be a positive integer, got 0',
    );
    expect(() => elementwiseAttentionLayer({ causal: true }).initState(1)).toThrow(
      'ElementwiseAttentionLayer.initState: the layer is not built yet, so D is unknown',
    );
    const state = ea.initState(1);
    expect(() => ea.step(tf.zeros([1, 2, 6]), state)).toThrow(
      'ElementwiseAttentionLayer.step: xt must have shape [B, D] = [?, 6], got [1, 2, 6]',
    );
    expect(() => ea.step(tf.zeros([2, 6]), state)).toThrow(
      'ElementwiseAttentionLayer.step: state.s must have shape [B, order + 1, D] for order 6 = [2, 7, 6], got [1, 7, 6]',
    );
    expect(() => ea.step(tf.zeros([1, 6]), { s: state.s } as never)).toThrow(
      'ElementwiseAttentionLayer.step: state.z must be a tf.Tensor, got undefined',
    );
    expect(() => ea.step(tf.zeros([1, 6]), null as never)).toThrow(
      'ElementwiseAttentionLayer.step: state must be {s, z}, got null',
    );
    expect(() => ea.prefill(tf.zeros([1, 3, 6]), { masks: 1 } as never)).toThrow(
      "ElementwiseAttentionLayer.prefill: unknown option 'masks'; expected one of mask, state",
    );
    expect(() => ea.prefill(tf.zeros([1, 0, 6]))).toThrow(
      'ElementwiseAttentionLayer.prefill: x must hold at least one position, got [1, 0, 6]',
    );
    const grouped = elementwiseAttentionLayer({ causal: true, order: 2, groupSize: 2 });
    const groupedState = grouped.prefill(tf.zeros([1, 1, 4])).state;
    expect(() => grouped.step(tf.zeros([1, 4]), { ...groupedState, z: groupedState.s })).toThrow(
      'ElementwiseAttentionLayer.step: state.z must have shape [B, F, D / groupSize] for order 2 and groupSize 2 = [1, 6, 2], got [1, 6, 4]',
    );

    const mha = multiHeadAttentionLayer({ numHeads: 2, keyDim: 2, causal: true });
    expect(() => multiHeadAttentionLayer({ numHeads: 2, keyDim: 2 }).initState(1)).toThrow(
      'MultiHeadAttentionLayer.initState: needs a causal layer (construct it with causal: true); this one is not causal',
    );
    const cache = mha.prefill(tf.zeros([1, 3, 4])).state;
    expect(() => mha.step(tf.zeros([1, 4]), { ...cache, mask: tf.ones([1, 2]) })).toThrow(
      'MultiHeadAttentionLayer.step: state.mask must have shape [B, T] = [1, 3], got [1, 2]',
    );
    expect(() => mha.step(tf.zeros([1, 4]), { ...cache, value: tf.ones([1, 2, 3, 3]) })).toThrow(
      'MultiHeadAttentionLayer.step: state.value must have shape [B, numHeads, T, valueDim] = [1, 2, 3, 2], got [1, 2, 3, 3]',
    );
    expect(() => mha.step(tf.zeros([1, 4]), tf.zeros([1]) as never)).toThrow(
      'MultiHeadAttentionLayer.step: state must be {key, value, mask}, got a float32 tensor of shape [1]',
    );
  });
});
