import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CharLM, createModel, evaluate, type TokenDataset, train } from '../src/index.js';
import { tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

/**
 * Sequences "k=v." where only the position before v is scored: v is the letter after k in the
 * alphabet, so a model learns it only from the weighted positions.
 */
function answerDataset(model: CharLM, count: number): TokenDataset {
  const letters = 'abcdefghijklmnopqrstuvwxy';
  const length = 3;
  const inputs = new Int32Array(count * length);
  const targets = new Int32Array(count * length);
  const weights = new Float32Array(count * length);
  for (let n = 0; n < count; n++) {
    const key = letters[n % letters.length];
    const value = String.fromCharCode(key.charCodeAt(0) + 1);
    const ids = model.encode(`${key}=${value}.`);
    inputs.set(ids.subarray(0, length), n * length);
    targets.set(ids.subarray(1, length + 1), n * length);
    weights[n * length + 1] = 1; // "=" predicts the value
  }
  return { kind: 'tokens', inputs, targets, length, weights };
}

describe('token datasets: pre-aligned sequences with per-position loss weights', () => {
  it('evaluate weighs each position: the weighted mean cross-entropy and accuracy of the logits', async () => {
    const model = createModel(tinyCharLM({ vocabulary: 'abcdefghijklmnopqrstuvwxyz=.' }), {
      seed: 1,
    }) as CharLM;
    const data = answerDataset(model, 6);
    // Fractional weights, and a second scored position in the first sequence.
    data.weights![1] = 0.5;
    data.weights![2] = 2;
    const metrics = await evaluate(model, data, { batchSize: 4 });

    const ids = tf.tensor2d(data.inputs, [6, 3], 'int32') as tf.Tensor2D;
    const logProbabilities = tf.tidy(() => tf.logSoftmax(model.logits(ids)));
    const values = logProbabilities.arraySync() as number[][][];
    tf.dispose([ids, logProbabilities]);
    let loss = 0;
    let correct = 0;
    let total = 0;
    data.weights!.forEach((w, i) => {
      const row = values[Math.floor(i / 3)][i % 3];
      const target = data.targets[i];
      loss -= w * row[target];
      correct += w * (row.indexOf(Math.max(...row)) === target ? 1 : 0);
      total += w;
    });
    expect(metrics.loss).toBeCloseTo(loss / total, 5);
    expect(metrics.accuracy).toBeCloseTo(correct / total, 6);
    model.dispose();
  });

  it('train learns only what the weights score', async () => {
    const model = createModel(
      tinyCharLM({
        vocabulary: 'abcdefghijklmnopqrstuvwxyz=.',
        dModel: 32,
        numLayers: 1,
        maxLength: 3,
      }),
      { seed: 2 },
    ) as CharLM;
    const scored = answerDataset(model, 25);
    // The same inputs again with another answer and weight 0: trained on without the weights,
    // a model could only split its bets between the two answers (loss >= ln 2 at best).
    const decoy = { ...answerDataset(model, 25), weights: new Float32Array(75) };
    decoy.targets.forEach((_, i) => {
      if (i % 3 === 1) decoy.targets[i] = model.encode('z')[0];
    });
    const concat = <T extends Int32Array | Float32Array>(a: T, b: T, out: T): T => {
      out.set(a);
      out.set(b, a.length);
      return out;
    };
    const data: TokenDataset = {
      kind: 'tokens',
      length: 3,
      inputs: concat(scored.inputs, decoy.inputs, new Int32Array(150)),
      targets: concat(scored.targets, decoy.targets, new Int32Array(150)),
      weights: concat(scored.weights!, decoy.weights, new Float32Array(150)),
    };
    const before = await evaluate(model, scored);
    await train(model, { train: data }, { steps: 40, batchSize: 25, learningRate: 3e-2, seed: 3 });
    const after = await evaluate(model, scored);
    expect(before.accuracy).toBeLessThan(0.2);
    // Far below the ln 2 that splitting between the two answers would leave.
    expect(after.accuracy).toBeGreaterThanOrEqual(0.96);
    expect(after.loss).toBeLessThan(0.2);
    model.dispose();
  });

  it('names the field and the first bad value', async () => {
    const model = createModel(tinyCharLM(), { seed: 1 }) as CharLM;
    const vocabulary = model.vocabularySize;
    const good = {
      kind: 'tokens' as const,
      inputs: new Int32Array([1, 2, 3, 4]),
      targets: new Int32Array([2, 3, 4, 5]),
      length: 2,
    };
    const run = (data: object) => evaluate(model, data as TokenDataset);
    await expect(run({ ...good, inputs: [1, 2, 3, 4] })).rejects.toThrow(
      'evaluate: dataset.inputs must be an Int32Array of token ids (model.encode(text) gives them), got an array of length 4',
    );
    await expect(run({ ...good, targets: new Int32Array([2, 3, vocabulary, 5]) })).rejects.toThrow(
      `evaluate: dataset.targets must hold ids in [0, vocabularySize = ${vocabulary}), got ${vocabulary} at index 2`,
    );
    await expect(run({ ...good, length: 3 })).rejects.toThrow(
      'evaluate: dataset.inputs must hold N × length = N × 3 ids (N >= 1), got 4',
    );
    await expect(run({ ...good, targets: new Int32Array([2, 3]) })).rejects.toThrow(
      'evaluate: dataset.targets must hold one id per input id (4), got 2',
    );
    await expect(run({ ...good, weights: new Float32Array([1, -1, 0, 0]) })).rejects.toThrow(
      'evaluate: dataset.weights must be finite numbers >= 0, got -1 at index 1 (sequence 0, position 1)',
    );
    await expect(run({ ...good, weights: new Float32Array(4) })).rejects.toThrow(
      'evaluate: dataset.weights are all 0, so no position would be learned or scored',
    );
    await expect(run({ ...good, length: 17 })).rejects.toThrow(
      'evaluate: dataset.length must be an integer in [1, maxLength = 16], got 17',
    );
    await expect(run({ ...good, kind: 'sequences' })).rejects.toThrow(
      "evaluate: a char-lm model needs a dataset of kind 'text' or 'tokens', got 'sequences'",
    );
    model.dispose();
  });
});
