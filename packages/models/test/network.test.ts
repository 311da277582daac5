import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { configParameterCount } from '../src/config/parameter_count.js';
import { createModel, type ModelConfig } from '../src/index.js';
import { tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const CLASSIFIER: ModelConfig = {
  task: 'sequence-classifier',
  inputChannels: 3,
  numClasses: 4,
  dModel: 16,
  numHeads: 2,
  numLayers: 2,
  maxLength: 12,
  norm: 'pre',
  attention: { kind: 'ea', order: 2 },
};
const FORECASTER: ModelConfig = {
  task: 'forecaster',
  inputChannels: 2,
  horizon: 3,
  dModel: 16,
  numHeads: 2,
  numLayers: 1,
  maxLength: 12,
  positional: 'time',
  attention: { kind: 'softmax' },
};

describe('model.network', () => {
  it('is a tf.LayersModel whose summary lists every layer and the parameter count', () => {
    for (const config of [tinyCharLM({ shortConv: 3 }), CLASSIFIER, FORECASTER]) {
      const model = createModel(config, { seed: 1 });
      const lines: string[] = [];
      model.network.summary(120, undefined, (line) => lines.push(line));
      const text = lines.join('\n');
      const names = model.network.layers.map((layer) => layer.name);
      for (const name of ['positional', 'block_0', 'head']) expect(names).toContain(name);
      for (const name of names) expect(text).toContain(name);
      const count = configParameterCount(model.config);
      expect(model.parameterCount()).toBe(count);
      expect(text).toContain(`Total params: ${count}`);
      model.dispose();
    }
  });

  it("a sub-model of its layers' outputs reads any activation", () => {
    const model = createModel(tinyCharLM(), { seed: 2 });
    const network = model.network;
    const hidden = tfl.model({
      inputs: network.inputs,
      outputs: network.getLayer('block_1').output as tfl.SymbolicTensor,
    });
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    // The head applied to the last block's output is the model's logits.
    const logits = model.logits(ids);
    const viaSubModel = tf.tidy(
      () => network.getLayer('head').apply(hidden.predict(ids) as tf.Tensor) as tf.Tensor,
    );
    expect(Array.from(viaSubModel.dataSync())).toEqual(Array.from(logits.dataSync()));
    tf.dispose([ids, logits, viaSubModel]);
    model.dispose();
  });

  it('dispose releases every variable of the network', () => {
    const before = Object.keys(tf.engine().registeredVariables).length;
    const memory = tf.memory().numTensors;
    const model = createModel(CLASSIFIER, { seed: 3 });
    expect(Object.keys(tf.engine().registeredVariables).length).toBeGreaterThan(before);
    model.dispose();
    expect(Object.keys(tf.engine().registeredVariables)).toHaveLength(before);
    expect(tf.memory().numTensors).toBe(memory);
  });
});
