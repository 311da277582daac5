import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CharLM, createModel, evaluate, fromPretrained, train } from '../src/index.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

/**
 * Options objects are checked for type and unknown names wherever a user passes them: a typo or
 * a string where a number belongs must fail naming the option, never run with a default.
 */
describe('options objects', () => {
  let model: CharLM;
  let memory: tf.MemoryInfo;
  beforeAll(async () => {
    await useBackend('cpu');
    model = createModel(tinyCharLM(), { seed: 1 });
  });
  afterAll(() => model.dispose());
  beforeEach(() => {
    memory = tf.memory();
  });
  afterEach(() => {
    expect(tf.memory().numTensors, 'a refused call must not leak tensors').toBe(memory.numTensors);
    expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
  });

  const data = { train: { kind: 'text' as const, text: TEXT } };
  const base = { steps: 1, batchSize: 2, learningRate: 1e-3 };
  const trainNames =
    'steps, batchSize, learningRate, warmupSteps, minLearningRate, weightDecay, clipNorm, evalEvery, evalBatches, earlyStopping, seed, recompute, onProgress, signal';

  it('createModel: unknown names, a non-object, a seed that is not a number', () => {
    const create = (options: unknown) => () => createModel(tinyCharLM(), options as never);
    expect(create({ sed: 1 })).toThrow("createModel: unknown option 'sed'; expected one of seed");
    expect(create(7)).toThrow('createModel: options must be an object with any of seed, got 7');
    expect(create(null)).toThrow(
      'createModel: options must be an object with any of seed, got null',
    );
    expect(create({ seed: '7' })).toThrow(
      "createModel: options.seed must be a finite number, got '7'",
    );
  });

  it('train: unknown names, strings for numbers, nested options, callbacks and data', async () => {
    const run = (options: unknown, d: unknown = data) => train(model, d as never, options as never);
    await expect(run({ ...base, stepz: 3 })).rejects.toThrow(
      `train: unknown option 'stepz'; expected one of ${trainNames}`,
    );
    await expect(run(undefined)).rejects.toThrow(
      'train: options.steps must be a positive integer, got undefined (missing)',
    );
    await expect(run('fast')).rejects.toThrow(
      `train: options must be an object with any of ${trainNames}, got 'fast'`,
    );
    // '0.1' > 0 holds in JavaScript: a string must not pass for a number.
    await expect(run({ ...base, learningRate: '0.1' })).rejects.toThrow(
      "train: options.learningRate must be a finite number > 0, got '0.1'",
    );
    await expect(run({ ...base, learningRate: Number.POSITIVE_INFINITY })).rejects.toThrow(
      'options.learningRate must be a finite number > 0, got Infinity',
    );
    await expect(run({ ...base, minLearningRate: '0' })).rejects.toThrow(
      "train: options.minLearningRate must be a number in [0, learningRate = 0.001], got '0'",
    );
    await expect(run({ ...base, weightDecay: '0.1' })).rejects.toThrow(
      "train: options.weightDecay must be a finite number >= 0, got '0.1'",
    );
    await expect(run({ ...base, clipNorm: '1' })).rejects.toThrow(
      "train: options.clipNorm must be a number > 0, got '1'",
    );
    await expect(run({ ...base, batchSize: '2' })).rejects.toThrow(
      "train: options.batchSize must be a positive integer, got '2'",
    );
    await expect(run({ ...base, earlyStopping: { patiense: 2 } })).rejects.toThrow(
      "train: unknown option 'patiense' in options.earlyStopping; expected one of patience",
    );
    await expect(run({ ...base, earlyStopping: 2 })).rejects.toThrow(
      'train: options.earlyStopping must be an object with any of patience, got 2',
    );
    await expect(run({ ...base, onProgress: 'log' })).rejects.toThrow(
      "train: options.onProgress must be a function, got 'log'",
    );
    await expect(run({ ...base, signal: {} })).rejects.toThrow(
      'train: options.signal must be an AbortSignal, got an object',
    );
    await expect(run(base, { training: data.train })).rejects.toThrow(
      "train: unknown field 'training' in data; expected one of train, validation",
    );
    await expect(run(base, [data.train])).rejects.toThrow(
      'train: data must be {train, validation?}, got an array of length 1',
    );
    await expect(train(null as never, data, base)).rejects.toThrow(
      'train: model must be a model from createModel, loadModel or fromPretrained, got null',
    );
  });

  it('train: batchSize is bounded by the windows or examples data.train holds', async () => {
    const run = (options: unknown, d: unknown = data) => train(model, d as never, options as never);
    // Context 16: a training batch draws windows of 17 characters, starting anywhere but the
    // last 16 characters of the text.
    const windows = TEXT.length - 16;
    const refusal = (given: string) =>
      `train: options.batchSize must be an integer in [1, ${windows}] (data.train holds ${windows} distinct windows of 17 characters; a larger batch would repeat them), got ${given}`;
    // Refused before anything is allocated (a batch of 1e9 windows used to be).
    await expect(run({ ...base, batchSize: 1e9 })).rejects.toThrow(refusal('1000000000'));
    await expect(run({ ...base, batchSize: windows + 1 })).rejects.toThrow(
      refusal(String(windows + 1)),
    );
    await expect(run({ ...base, batchSize: 2.5 })).rejects.toThrow(
      'train: options.batchSize must be a positive integer, got 2.5',
    );
    await expect(run({ ...base, batchSize: 0 })).rejects.toThrow(
      'train: options.batchSize must be a positive integer, got 0',
    );
    const short = { train: { kind: 'text' as const, text: TEXT.slice(0, 20) } };
    const { history } = await run({ ...base, batchSize: 4 }, short);
    expect(history).toHaveLength(1);
    await expect(run({ ...base, batchSize: 5 }, short)).rejects.toThrow(
      'train: options.batchSize must be an integer in [1, 4] (data.train holds 4 distinct windows of 17 characters; a larger batch would repeat them), got 5',
    );

    const classifier = createModel(
      {
        task: 'sequence-classifier',
        inputChannels: 1,
        numClasses: 2,
        dModel: 8,
        numHeads: 2,
        numLayers: 1,
        maxLength: 4,
        attention: { kind: 'softmax' },
      },
      { seed: 1 },
    );
    const sequences = {
      kind: 'sequences' as const,
      inputs: new Float32Array(3 * 4),
      length: 4,
      channels: 1,
      labels: Int32Array.from([0, 1, 0]),
    };
    await expect(
      train(classifier, { train: sequences }, { ...base, batchSize: 4 }),
    ).rejects.toThrow(
      'train: options.batchSize must be an integer in [1, 3] (data.train holds 3 distinct examples; a larger batch would repeat them), got 4',
    );
    await expect(evaluate(classifier, sequences, { batchSize: 4 })).rejects.toThrow(
      'evaluate: options.batchSize must be an integer in [1, 3] (the dataset is evaluated as 3 examples), got 4',
    );
    classifier.dispose();
  });

  it('evaluate: batchSize is bounded by the windows or examples the dataset is evaluated as', async () => {
    // Consecutive windows of 17 characters at stride 16.
    const windows = Math.floor((TEXT.length - 1) / 16);
    await expect(evaluate(model, data.train, { batchSize: 1e9 })).rejects.toThrow(
      `evaluate: options.batchSize must be an integer in [1, ${windows}] (the dataset is evaluated as ${windows} windows of 17 characters), got 1000000000`,
    );
    await expect(evaluate(model, data.train, { batchSize: 0 })).rejects.toThrow(
      'evaluate: options.batchSize must be a positive integer, got 0',
    );
    const whole = await evaluate(model, data.train, { batchSize: windows });
    expect(await evaluate(model, data.train, { batchSize: 7 })).toEqual(
      expect.objectContaining({ loss: expect.closeTo(whole.loss, 5) }),
    );
    // The default, 32, shrinks to a dataset of fewer windows.
    const small = { kind: 'text' as const, text: TEXT.slice(0, 5 * 16 + 1) };
    const metrics = await evaluate(model, small);
    expect(metrics.loss).toBeCloseTo((await evaluate(model, small, { batchSize: 5 })).loss, 5);
  });

  it('evaluate: unknown names, a non-object, a disposed model', async () => {
    await expect(evaluate(model, data.train, { batchsize: 4 } as never)).rejects.toThrow(
      "evaluate: unknown option 'batchsize'; expected one of batchSize",
    );
    await expect(evaluate(model, data.train, 4 as never)).rejects.toThrow(
      'evaluate: options must be an object with any of batchSize, got 4',
    );
    await expect(evaluate(model, data.train, { batchSize: '4' } as never)).rejects.toThrow(
      "evaluate: options.batchSize must be a positive integer, got '4'",
    );
    const disposed = createModel(tinyCharLM(), { seed: 2 });
    disposed.dispose();
    await expect(evaluate(disposed, data.train)).rejects.toThrow(
      'evaluate: the model has been disposed',
    );
  });

  it('generate: typos and types of every option', async () => {
    const first = (options: unknown) => model.generate('it', options as never).next();
    await expect(first({ maxTokens: 3, temprature: 0 })).rejects.toThrow(
      "CharLM.generate: unknown option 'temprature'; expected one of maxTokens, temperature, topK, seed",
    );
    await expect(first(3)).rejects.toThrow(
      'CharLM.generate: options must be an object with any of maxTokens, temperature, topK, seed, got 3',
    );
    await expect(first({ maxTokens: '3' })).rejects.toThrow(
      "CharLM.generate: options.maxTokens must be an integer >= 0, got '3'",
    );
    await expect(first({ maxTokens: 3, temperature: '0.5' })).rejects.toThrow(
      "CharLM.generate: options.temperature must be a number >= 0, got '0.5'",
    );
    await expect(first({ maxTokens: 3, topK: 2.5 })).rejects.toThrow(
      'CharLM.generate: options.topK must be a positive integer, got 2.5',
    );
    await expect(first({ maxTokens: 3, seed: 'abc' })).rejects.toThrow(
      "CharLM.generate: options.seed must be a finite number, got 'abc'",
    );
  });

  it('fromPretrained: unknown names and a non-object', async () => {
    await expect(
      fromPretrained('char-lm-moby-dick-ea6', { baseURL: 'https://example.com/' } as never),
    ).rejects.toThrow(
      "fromPretrained: unknown option 'baseURL'; expected one of baseUrl, onProgress",
    );
    await expect(fromPretrained('char-lm-moby-dick-ea6', 'https://x/' as never)).rejects.toThrow(
      "fromPretrained: options must be an object with any of baseUrl, onProgress, got 'https://x/'",
    );
    await expect(
      fromPretrained('char-lm-moby-dick-ea6', { onProgress: 'yes' } as never),
    ).rejects.toThrow(
      'fromPretrained: options.onProgress must be a function of the fraction loaded, got string',
    );
  });

  it('setWeights: a non-object, arrays for tensors, disposed and non-finite weights', () => {
    const weights = model.getWeights();
    expect(() => model.setWeights(null as never)).toThrow(
      'CharLM.setWeights: weights must be an object of tensors by name, got null',
    );
    const asArrays = Object.fromEntries(Object.keys(weights).map((name) => [name, [0]]));
    expect(() => model.setWeights(asArrays as never)).toThrow(
      'CharLM.setWeights: weight token_embedding/embeddings must be a tf.Tensor, got an array of length 1',
    );
    const copies = Object.fromEntries(
      Object.entries(weights).map(([name, w]) => [name, tf.clone(w)]),
    );
    const before = Array.from(weights['head/bias'].dataSync());
    const bias = copies['head/bias'];
    copies['head/bias'] = tf.tidy(() =>
      tf.concat([tf.slice(bias, 0, 2), tf.tensor1d([Number.NaN]), tf.slice(bias, 3)]),
    );
    bias.dispose();
    expect(() => model.setWeights(copies)).toThrow(
      'CharLM.setWeights: weight head/bias must be finite, got NaN at flat index 2',
    );
    // Nothing was assigned.
    expect(Array.from(model.getWeights()['head/bias'].dataSync())).toEqual(before);
    copies['head/bias'].dispose();
    expect(() => model.setWeights(copies)).toThrow(
      'CharLM.setWeights: weight head/bias must be a tf.Tensor, got a disposed tensor',
    );
    tf.dispose(Object.values(copies));
  });
});
