import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createModel,
  evaluate,
  type Forecaster,
  type SequenceClassifier,
  seriesNormalization,
  type TrainOptions,
  train,
} from '../src/index.js';
import { AdamW } from '../src/training/adamw.js';
import { clipByGlobalNorm } from '../src/training/clip.js';
import { learningRateAt } from '../src/training/learning_rate.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const textData = { train: { kind: 'text' as const, text: TEXT } };

async function lossCurve(
  seed: number,
  modelSeed = 1,
  backend: 'cpu' | 'wasm' = 'cpu',
  recompute = false,
) {
  await useBackend(backend);
  const model = createModel(tinyCharLM({ dropout: 0.1 }), { seed: modelSeed });
  const { history } = await train(model, textData, {
    steps: 8,
    batchSize: 4,
    learningRate: 3e-3,
    warmupSteps: 2,
    weightDecay: 0.1,
    clipNorm: 1,
    seed,
    recompute,
  });
  model.dispose();
  return history.map((event) => event.loss);
}

describe('train', () => {
  it('is deterministic: the same seeds give the same loss curve, another seed another one', async () => {
    const a = await lossCurve(42);
    const b = await lossCurve(42);
    const c = await lossCurve(43);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(a.at(-1)!).toBeLessThan(a[0]);
  });

  it('gives the same loss curve on wasm as on cpu', async () => {
    const cpu = await lossCurve(42);
    const wasm = await lossCurve(42, 1, 'wasm');
    await useBackend('cpu');
    for (let i = 0; i < cpu.length; i++) expect(wasm[i]).toBeCloseTo(cpu[i], 3);
  });

  it('recompute: true gives the same loss curve (dropout included) on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const stored = await lossCurve(42, 1, backend);
      const recomputed = await lossCurve(42, 1, backend, true);
      for (let i = 0; i < stored.length; i++) {
        expect(recomputed[i], `${backend} step ${i + 1}`).toBeCloseTo(stored[i], 4);
      }
    }
    await useBackend('cpu');
  });

  it('leaves tf.memory().numTensors unchanged after one step and after a full run', async () => {
    for (const attention of [{ kind: 'ea', order: 6 } as const, { kind: 'softmax' } as const]) {
      const model = createModel(tinyCharLM({ attention }), { seed: 2 });
      const before = tf.memory().numTensors;
      const weightsBefore = model.getWeights()['block_0/query/kernel'].dataSync().slice();
      await train(model, textData, { steps: 1, batchSize: 2, learningRate: 1e-2, seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(model.getWeights()['block_0/query/kernel'].dataSync()).not.toEqual(weightsBefore);
      await train(
        model,
        { ...textData, validation: { kind: 'text', text: TEXT.slice(0, 200) } },
        {
          steps: 6,
          batchSize: 2,
          learningRate: 1e-2,
          evalEvery: 2,
          earlyStopping: { patience: 5 },
          clipNorm: 0.5,
          weightDecay: 0.1,
          seed: 1,
        },
      );
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  });

  it('reports progress with the learning-rate schedule, tokens/s and validation', async () => {
    const model = createModel(tinyCharLM(), { seed: 3 });
    const events: Parameters<NonNullable<TrainOptions['onProgress']>>[0][] = [];
    const result = await train(
      model,
      { ...textData, validation: { kind: 'text', text: TEXT.slice(0, 300) } },
      {
        steps: 6,
        batchSize: 2,
        learningRate: 1e-2,
        warmupSteps: 2,
        minLearningRate: 1e-3,
        evalEvery: 4,
        evalBatches: 2,
        seed: 1,
        onProgress: (e) => events.push(e),
      },
    );
    expect(events).toEqual(result.history);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[0].learningRate).toBeCloseTo(5e-3);
    expect(events[1].learningRate).toBeCloseTo(1e-2);
    expect(events[5].learningRate).toBeCloseTo(1e-3);
    expect(events.filter((e) => e.validation).map((e) => e.step)).toEqual([4, 6]);
    expect(events[3].validation!.bitsPerChar).toBeCloseTo(events[3].validation!.loss / Math.LN2);
    expect(events.every((e) => e.tokensPerSecond! > 0 && e.elapsedMs >= 0)).toBe(true);
    expect(result.best).toBeDefined();
    model.dispose();
  });

  it('early stopping stops after `patience` worse evaluations and restores the best weights', async () => {
    // Learning "abab…" makes the model worse at "aaaa…": the first evaluation is the best.
    const model = createModel(tinyCharLM(), { seed: 4 });
    const validation = { kind: 'text' as const, text: 'a'.repeat(200) };
    const result = await train(
      model,
      { train: { kind: 'text', text: 'ab'.repeat(300) }, validation },
      {
        steps: 40,
        batchSize: 4,
        learningRate: 1e-2,
        evalEvery: 2,
        earlyStopping: { patience: 3 },
        seed: 1,
      },
    );
    expect(result.stopped).toBe('early-stopping');
    const evaluations = result.history.filter((e) => e.validation);
    const losses = evaluations.map((e) => e.validation!.loss);
    const bestIndex = losses.indexOf(Math.min(...losses));
    expect(result.best!.loss).toBe(losses[bestIndex]);
    expect(evaluations).toHaveLength(bestIndex + 1 + 3);
    expect(result.history.length).toBe(2 * evaluations.length);
    expect(losses.at(-1)!).toBeGreaterThan(result.best!.loss);
    const restored = await evaluate(model, validation, { batchSize: 4 });
    expect(restored.loss).toBeCloseTo(result.best!.loss, 5);
    model.dispose();
  });

  it('stops at an AbortSignal and returns what was done', async () => {
    const model = createModel(tinyCharLM(), { seed: 5 });
    const controller = new AbortController();
    const result = await train(model, textData, {
      steps: 50,
      batchSize: 2,
      learningRate: 1e-3,
      seed: 1,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.step === 3) controller.abort();
      },
    });
    expect(result.history).toHaveLength(3);
    expect(result.stopped).toBe('aborted');
    model.dispose();
  });

  it('rejects bad options and mismatched data, naming them', async () => {
    const model = createModel(tinyCharLM(), { seed: 6 });
    const base = { steps: 2, batchSize: 2, learningRate: 1e-3 };
    await expect(train(model, textData, { ...base, stepz: 3 } as never)).rejects.toThrow(
      "unknown option 'stepz'",
    );
    await expect(train(model, textData, { ...base, steps: 0 })).rejects.toThrow(
      'train: options.steps must be a positive integer, got 0',
    );
    await expect(train(model, textData, { ...base, warmupSteps: 5 })).rejects.toThrow(
      /warmupSteps must be an integer in \[0, steps = 2\]/,
    );
    await expect(train(model, textData, { ...base, recompute: 'yes' as never })).rejects.toThrow(
      "train: options.recompute must be true or false, got 'yes'",
    );
    await expect(
      train(model, textData, { ...base, earlyStopping: { patience: 2 } }),
    ).rejects.toThrow(/earlyStopping needs data.validation/);
    await expect(
      train(
        model,
        {
          train: {
            kind: 'series',
            values: new Float32Array(10),
            channels: 1,
            inputLength: 2,
            horizon: 1,
          },
        },
        base,
      ),
    ).rejects.toThrow("a char-lm model needs a dataset of kind 'text' or 'tokens', got 'series'");
    await expect(train(model, { train: { kind: 'text', text: 'a' } }, base)).rejects.toThrow(
      /at least 2 characters/,
    );
    model.dispose();
  });
});

describe('training utilities', () => {
  it('learning rate: linear warm-up, then cosine decay to the minimum at the last step', () => {
    const schedule = { steps: 10, peak: 1, warmupSteps: 4, minimum: 0.1 };
    expect([1, 2, 3, 4].map((s) => learningRateAt(s, schedule))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRateAt(5, schedule)).toBeCloseTo(1);
    expect(learningRateAt(10, schedule)).toBeCloseTo(0.1);
    expect(learningRateAt(7.5, schedule)).toBeCloseTo(0.55);
  });

  it('clips by the global norm of all gradients', () => {
    tf.tidy(() => {
      const { gradients, norm } = clipByGlobalNorm(
        { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) },
        1,
      );
      expect(norm.dataSync()[0]).toBeCloseTo(5);
      expect(Array.from(gradients.a.dataSync())).toEqual([expect.closeTo(0.6), 0]);
      expect(gradients.b.dataSync()[0]).toBeCloseTo(0.8);
      const small = clipByGlobalNorm({ a: tf.tensor1d([0.3]) }, 1);
      expect(small.gradients.a.dataSync()[0]).toBeCloseTo(0.3);
    });
  });

  it('AdamW decays only the variables marked for decay, and the model marks only linear kernels', () => {
    const decayed = tf.variable(tf.tensor1d([2]), true, 'adamw_test_decayed');
    const kept = tf.variable(tf.tensor1d([2]), true, 'adamw_test_kept');
    const optimizer = new AdamW({
      learningRate: 0.1,
      weightDecay: 0.5,
      decays: (name) => name === decayed.name,
    });
    tf.tidy(() =>
      optimizer.applyGradients({ [decayed.name]: tf.zeros([1]), [kept.name]: tf.zeros([1]) }),
    );
    expect(decayed.dataSync()[0]).toBeCloseTo(2 * (1 - 0.05));
    expect(kept.dataSync()[0]).toBeCloseTo(2);
    optimizer.dispose();
    tf.dispose([decayed, kept]);

    const model = createModel(
      tinyCharLM({ positional: 'learned', attention: { kind: 'ea', order: 2, qkNorm: 'rms' } }),
      { seed: 1 },
    );
    const decays = Object.fromEntries(model.trainableVariables().map((p) => [p.name, p.decay]));
    expect(decays['block_0/query/kernel']).toBe(true);
    expect(decays['block_0/feed_forward/expand/kernel']).toBe(true);
    expect(decays['head/kernel']).toBe(true);
    for (const name of [
      'block_0/query/bias',
      'block_0/attention_norm/gain',
      'block_0/query_norm/gain',
      'token_embedding/embeddings',
      'positional/embeddings',
      'head/bias',
    ]) {
      expect(decays[name], name).toBe(false);
    }
    model.dispose();
  });
});

describe('other tasks train and evaluate', () => {
  it('SequenceClassifier learns to tell rising from falling sequences (EA and softmax)', async () => {
    for (const attention of [{ kind: 'ea', order: 2 } as const, { kind: 'softmax' } as const]) {
      const [count, length] = [64, 8];
      const inputs = new Float32Array(count * length);
      const labels = new Int32Array(count);
      for (let n = 0; n < count; n++) {
        labels[n] = n % 2;
        for (let t = 0; t < length; t++)
          inputs[n * length + t] = (labels[n] ? 1 : -1) * (t / length) + Math.sin(n * 7 + t) * 0.1;
      }
      const data = { kind: 'sequences' as const, inputs, length, channels: 1, labels };
      const model = createModel(
        {
          task: 'sequence-classifier',
          inputChannels: 1,
          numClasses: 2,
          classNames: ['falling', 'rising'],
          dModel: 16,
          numHeads: 2,
          numLayers: 1,
          maxLength: 8,
          dropout: 0,
          attention,
        },
        { seed: 1 },
      ) as SequenceClassifier;
      await train(
        model,
        { train: data },
        { steps: 40, batchSize: 16, learningRate: 1e-2, seed: 1 },
      );
      const metrics = await evaluate(model, data);
      expect(metrics.accuracy, attention.kind).toBeGreaterThan(0.9);
      const probabilities = tf.tidy(() =>
        model.predict(tf.tensor3d(inputs.subarray(0, 2 * length), [2, length, 1])).arraySync(),
      );
      expect(probabilities[0][0]).toBeGreaterThan(0.5);
      expect(probabilities[1][1]).toBeGreaterThan(0.5);
      expect(() => model.predict(tf.zeros([1, 9, 1]) as tf.Tensor3D)).toThrow(
        /1 <= L <= maxLength = 8, got \[1, 9, 1\]/,
      );
      expect(() => model.predict(tf.zeros([1, 4, 2]) as tf.Tensor3D)).toThrow(
        /inputs must have shape \[B, L, 1\] \(inputChannels = 1\), got \[1, 4, 2\]/,
      );
      model.dispose();
    }
  });

  it('Forecaster learns a sine wave, predicting in original units (time positions)', async () => {
    const steps = 400;
    const values = new Float32Array(steps * 2);
    const times = new Float32Array(steps);
    for (let t = 0; t < steps; t++) {
      values[2 * t] = 50 + 10 * Math.sin(t / 4);
      values[2 * t + 1] = Math.cos(t / 4);
      times[t] = t;
    }
    const data = {
      kind: 'series' as const,
      values,
      channels: 2,
      times,
      inputLength: 16,
      horizon: 4,
    };
    const normalization = seriesNormalization(data);
    expect(normalization.mean[0]).toBeCloseTo(50, 0);
    const model = createModel(
      {
        task: 'forecaster',
        inputChannels: 2,
        horizon: 4,
        normalization,
        dModel: 16,
        numHeads: 2,
        numLayers: 1,
        maxLength: 16,
        dropout: 0,
        positional: 'time',
        attention: { kind: 'ea', order: 2 },
      },
      { seed: 1 },
    ) as Forecaster;
    const before = await evaluate(model, data);
    await train(model, { train: data }, { steps: 60, batchSize: 16, learningRate: 1e-2, seed: 1 });
    const after = await evaluate(model, data);
    expect(after.rmse!).toBeLessThan(2);
    expect(after.rmse!).toBeLessThan(before.rmse! / 3);
    expect(after.mae!).toBeLessThanOrEqual(after.rmse!);
    const forecast = tf.tidy(() => {
      const window = tf.tensor3d(values.subarray(0, 32), [1, 16, 2]);
      return model.predict(window, tf.tensor2d(times.subarray(0, 16), [1, 16])).dataSync();
    });
    for (let h = 0; h < 4; h++)
      expect(Math.abs(forecast[h] - values[2 * (16 + h)])).toBeLessThan(4);
    tf.tidy(() => {
      const window = tf.zeros([2, 16, 2]) as tf.Tensor3D;
      expect(() => model.predict(window, tf.zeros([2, 15]) as tf.Tensor2D)).toThrow(
        'Forecaster: times must have shape [B, L] = [2, 16], got [2, 15]',
      );
      expect(() => model.predict(tf.zeros([2, 16]) as never)).toThrow(/rank 3/);
    });
    model.dispose();
  });
});

describe('data is checked where it enters, before any work starts', () => {
  let memory: tf.MemoryInfo;
  beforeEach(() => {
    memory = tf.memory();
  });
  afterEach(() => {
    expect(tf.memory().numTensors, 'a refused call must not leak tensors').toBe(memory.numTensors);
    expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
  });
  const options = { steps: 2, batchSize: 2, learningRate: 1e-3, seed: 1 };

  function forecaster(): Forecaster {
    return createModel(
      {
        task: 'forecaster',
        inputChannels: 2,
        horizon: 2,
        dModel: 8,
        numHeads: 1,
        numLayers: 1,
        maxLength: 4,
        positional: 'time',
        attention: { kind: 'ea', order: 2 },
      },
      { seed: 1 },
    ) as Forecaster;
  }

  function classifier(): SequenceClassifier {
    return createModel(
      {
        task: 'sequence-classifier',
        inputChannels: 2,
        numClasses: 3,
        dModel: 8,
        numHeads: 1,
        numLayers: 1,
        maxLength: 4,
        attention: { kind: 'ea', order: 2 },
      },
      { seed: 1 },
    ) as SequenceClassifier;
  }

  it('a NaN or infinite value in a series names the field, step and channel (not the optimiser)', async () => {
    const model = forecaster();
    const values = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    values[7] = Number.NaN;
    const series = { kind: 'series' as const, values, channels: 2, inputLength: 4, horizon: 2 };
    await expect(train(model, { train: series }, options)).rejects.toThrow(
      'train (data.train): dataset.values must hold finite numbers, got NaN at index 7 (step 3, channel 1)',
    );
    await expect(evaluate(model, series)).rejects.toThrow(
      'evaluate: dataset.values must hold finite numbers, got NaN at index 7 (step 3, channel 1)',
    );
    values[7] = 0;
    const times = Float32Array.from({ length: 20 }, (_, i) => i);
    times[12] = Number.POSITIVE_INFINITY;
    await expect(
      train(model, { train: series, validation: { ...series, times } }, options),
    ).rejects.toThrow(
      'train (data.validation): dataset.times must hold finite numbers, got Infinity at index 12',
    );
    await expect(
      evaluate(model, { ...series, values: Array.from(values) } as never),
    ).rejects.toThrow(
      'evaluate: dataset.values must be a Float32Array, got an array of length 40 (Float32Array.from(values) converts an array)',
    );
    await expect(evaluate(model, { ...series, inputLenght: 4 } as never)).rejects.toThrow(
      "evaluate: unknown field 'inputLenght' in dataset; expected one of kind, values, channels, times, inputLength, horizon",
    );
    await expect(evaluate(model, { ...series, inputLength: '4' } as never)).rejects.toThrow(
      "evaluate: dataset.inputLength must be an integer in [1, maxLength = 4], got '4'",
    );
    expect(Number.isFinite((await evaluate(model, series)).loss)).toBe(true);
    model.dispose();
  });

  it('NaN in sequence inputs and labels outside the classes name the example', async () => {
    const model = classifier();
    const inputs = new Float32Array(3 * 4 * 2);
    const labels = new Int32Array([0, 2, 1]);
    const sequences = { kind: 'sequences' as const, inputs, length: 4, channels: 2, labels };
    inputs[13] = Number.NaN;
    await expect(train(model, { train: sequences }, options)).rejects.toThrow(
      'train (data.train): dataset.inputs must hold finite numbers, got NaN at index 13 (example 1, position 2, channel 1)',
    );
    await expect(evaluate(model, sequences)).rejects.toThrow(
      'evaluate: dataset.inputs must hold finite numbers, got NaN at index 13',
    );
    inputs[13] = 0;
    for (const [bad, got] of [
      [[0, 0.5, 1], '0.5 at index 1'],
      [[0, 1, 3], '3 at index 2'],
      [[-1, 1, 2], '-1 at index 0'],
      [[0, '1', 2], "'1' at index 1"],
    ] as const) {
      await expect(
        train(model, { train: { ...sequences, labels: bad as never } }, options),
      ).rejects.toThrow(
        `train (data.train): dataset.labels must be integers in [0, numClasses = 3), got ${got}`,
      );
    }
    await expect(
      evaluate(model, { ...sequences, labels: Float32Array.from([0, 0.5, 1]) } as never),
    ).rejects.toThrow(
      'evaluate: dataset.labels must be an Int32Array of class indices, got a Float32Array',
    );
    // A plain array of integer labels is as good as an Int32Array.
    const metrics = await evaluate(model, { ...sequences, labels: [0, 2, 1] } as never);
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0);
    model.dispose();
  });

  it('a text with no character of the vocabulary is refused, in training and validation data', async () => {
    const model = createModel(tinyCharLM(), { seed: 1 });
    const foreign = { kind: 'text' as const, text: 'ДОБРЫЙДЕНЬ!'.repeat(4) };
    const message =
      "dataset.text has none of the 29 characters of the model's vocabulary, so every token would be the unknown id 0";
    await expect(train(model, { train: foreign }, options)).rejects.toThrow(
      `train (data.train): ${message}`,
    );
    await expect(
      train(model, { train: { kind: 'text', text: TEXT }, validation: foreign }, options),
    ).rejects.toThrow(`train (data.validation): ${message}`);
    await expect(evaluate(model, foreign)).rejects.toThrow(`evaluate: ${message}`);
    await expect(evaluate(model, { kind: 'text', text: 42 } as never)).rejects.toThrow(
      'evaluate: dataset.text must be a string, got 42',
    );
    await expect(evaluate(model, 'some text' as never)).rejects.toThrow(
      "evaluate: a char-lm model needs a dataset {kind: 'text' or 'tokens', …}, got 'some text'",
    );
    // One known character is enough: unknown characters are part of real text.
    const mixed = await evaluate(model, { kind: 'text', text: 'ДОБРЫЙ a ДЕНЬ!' });
    expect(Number.isFinite(mixed.loss)).toBe(true);
    model.dispose();
  });

  it('evaluate refuses to return a NaN loss, naming the model rather than the data', async () => {
    const model = createModel(tinyCharLM(), { seed: 1 });
    const bias = model.getWeights()['head/bias'] as tf.Variable;
    tf.tidy(() => bias.assign(tf.fill(bias.shape, Number.NaN)));
    await expect(evaluate(model, { kind: 'text', text: TEXT })).rejects.toThrow(
      "evaluate: the loss is NaN although the data holds only finite values: the model's weights hold NaN or infinite values, or its activations overflow float32",
    );
    model.dispose();
  });
});
