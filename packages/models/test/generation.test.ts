import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CharLM, createModel } from '../src/index.js';
import { EA6, maxAbsDiff, SOFTMAX, TEXT, tinyCharLM, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

/** Logits [L, V] of the full parallel forward over `ids`. */
function parallelLogits(model: CharLM, ids: Int32Array): Float32Array {
  return tf.tidy(() => {
    const logits = model.logits(tf.tensor2d(ids, [1, ids.length], 'int32'));
    return logits.dataSync() as Float32Array;
  });
}

const VARIANTS = [
  { name: 'EA-6, Post-LN, sinusoidal, dropout 0.2', config: tinyCharLM({ dropout: 0.2 }) },
  {
    name: 'EA-2, Pre-LN, learned, qkNorm rms',
    config: tinyCharLM({
      attention: { kind: 'ea', order: 2, qkNorm: 'rms' },
      norm: 'pre',
      positional: 'learned',
    }),
  },
  {
    name: 'EA-6, time positions, ReLU',
    config: tinyCharLM({ positional: 'time', activation: 'relu' }),
  },
  {
    name: 'softmax, Post-LN, sinusoidal, dropout 0.2',
    config: tinyCharLM({ attention: { kind: 'softmax' }, dropout: 0.2 }),
  },
  {
    name: 'softmax, Pre-LN, learned, 1 head',
    config: tinyCharLM({
      attention: { kind: 'softmax' },
      norm: 'pre',
      positional: 'learned',
      numHeads: 1,
    }),
  },
  {
    name: 'EA-6, short convolution 4 and output gate',
    config: tinyCharLM({ shortConv: 4, outputGate: true, dropout: 0.1 }),
  },
  {
    name: 'EA-2, short convolution 6 (longer than the 4-token prompt)',
    config: tinyCharLM({ attention: { kind: 'ea', order: 2 }, shortConv: 6 }),
  },
  {
    name: 'EA-6, q/k bounded by 1.2·tanh, short convolution 4, output gate',
    config: tinyCharLM({
      attention: { kind: 'ea', order: 6, qkBound: 1.2 },
      shortConv: 4,
      outputGate: true,
    }),
  },
  {
    name: 'EA-2 with groups of 4 channels, short convolution 4, output gate',
    config: tinyCharLM({
      attention: { kind: 'ea', order: 2, groupSize: 4 },
      shortConv: 4,
      outputGate: true,
    }),
  },
  {
    name: 'EA-6, attention-only blocks (ffMultiplier 0), Pre-LN',
    config: tinyCharLM({ ffMultiplier: 0, norm: 'pre' }),
  },
  {
    name: 'softmax, short convolution 3 and output gate',
    config: tinyCharLM({ attention: { kind: 'softmax' }, shortConv: 3, outputGate: true }),
  },
  {
    name: "EA 'exact' (no recurrent form: recomputes the window)",
    config: tinyCharLM({ attention: { kind: 'ea', order: 'exact' } }),
  },
];

describe('CharLM generation session', () => {
  for (const { name, config } of VARIANTS) {
    it(`prefill + steps give the parallel forward's logits at every position: ${name}`, async () => {
      const model = createModel(config, { seed: 3 });
      const ids = model.encode(TEXT.slice(5, 5 + config.maxLength));
      const reference = parallelLogits(model, ids);
      const vocabulary = model.vocabularySize;
      const before = tf.memory().numTensors;
      const session = model.createSession();
      const prompt = 4;
      const rows: Float32Array[] = [await session.prefill(ids.subarray(0, prompt))];
      for (let i = prompt; i < ids.length; i++) rows.push(await session.step(ids[i]));
      session.dispose();
      expect(tf.memory().numTensors).toBe(before);
      rows.forEach((row, j) => {
        const position = prompt - 1 + j;
        const expected = reference.subarray(position * vocabulary, (position + 1) * vocabulary);
        expect(row.length).toBe(vocabulary);
        expect(maxAbsDiff(expected, row), `position ${position}`).toBeLessThan(
          2e-5 * Math.max(1, ...Array.from(expected, Math.abs)),
        );
      });
      model.dispose();
    });
  }

  it('holds constant memory per token for EA and a growing KV cache for softmax', async () => {
    const attentions = [
      { kind: 'ea', order: 6 } as const,
      { kind: 'ea', order: 2, groupSize: 4 } as const,
      { kind: 'softmax' } as const,
    ];
    for (const attention of attentions) {
      const model = createModel(tinyCharLM({ attention, maxLength: 64, shortConv: 4 }), {
        seed: 6,
      });
      const session = model.createSession();
      await session.prefill(model.encode('it was'));
      const bytes: number[] = [];
      for (let i = 0; i < 40; i++) {
        await session.step(1 + (i % 20));
        bytes.push(tf.memory().numBytes);
      }
      const growth = bytes.at(-1)! - bytes[0];
      if (attention.kind === 'ea') expect(growth).toBe(0);
      // Each step adds one key and one value of dModel floats, and its key-mask entry, per layer.
      else expect(growth).toBe(39 * 2 * (2 * model.config.dModel + 1) * 4);
      session.dispose();
      model.dispose();
    }
  });

  it('1 000 generation steps leave tf.memory().numTensors unchanged (EA and softmax)', async () => {
    for (const attention of [EA6, SOFTMAX]) {
      const model = createModel(tinyCharLM({ attention, maxLength: 64 }), { seed: 8 });
      const before = tf.memory().numTensors;
      let produced = 0;
      for await (const _ of model.generate('it was', { maxTokens: 1000, seed: 1 })) produced++;
      expect(produced).toBe(1000);
      expect(tf.memory().numTensors, attention.kind).toBe(before);
      model.dispose();
    }
  });

  it('slides the window when a token would land at position maxLength', async () => {
    const model = createModel(tinyCharLM({ positional: 'learned' }), { seed: 4 });
    const maxLength = model.config.maxLength;
    const ids = model.encode(TEXT.slice(0, maxLength + 3));
    const session = model.createSession();
    await session.prefill(ids.subarray(0, maxLength));
    expect(session.position).toBe(maxLength);
    const after = await session.step(ids[maxLength]);
    // The context is now the last maxLength/2 tokens, re-encoded from position 0.
    const keep = maxLength / 2;
    expect(session.position).toBe(keep);
    const window = ids.subarray(maxLength + 1 - keep, maxLength + 1);
    const reference = parallelLogits(model, window);
    const v = model.vocabularySize;
    expect(maxAbsDiff(reference.subarray((keep - 1) * v, keep * v), after)).toBeLessThan(1e-4);
    // A prompt longer than maxLength keeps its last maxLength tokens.
    const long = await session.prefill(ids);
    const tail = parallelLogits(model, ids.subarray(ids.length - maxLength));
    expect(maxAbsDiff(tail.subarray((maxLength - 1) * v), long)).toBeLessThan(1e-4);
    session.dispose();
    model.dispose();
  });
});

describe('CharLM.generate', () => {
  it('yields maxTokens characters, deterministic for a seed, greedy at temperature 0, no leaks', async () => {
    const model = createModel(tinyCharLM(), { seed: 5 });
    const before = tf.memory().numTensors;
    const run = async (options: Parameters<CharLM['generate']>[1]) => {
      const out: string[] = [];
      for await (const c of model.generate('it was', options)) out.push(c);
      return out;
    };
    const a = await run({ maxTokens: 40, temperature: 1, topK: 5, seed: 11 });
    const b = await run({ maxTokens: 40, temperature: 1, topK: 5, seed: 11 });
    expect(a).toHaveLength(40);
    expect(a.every((c) => c.length === 1 && model.config.vocabulary.includes(c))).toBe(true);
    expect(a).toEqual(b);
    // Greedy decoding equals the arg-max of the parallel logits, one token at a time.
    const greedy = await run({ maxTokens: 6, temperature: 0 });
    let text = 'it was';
    for (const c of greedy) {
      const ids = model.encode(text);
      const logits = parallelLogits(model, ids.subarray(Math.max(0, ids.length - 16)));
      const v = model.vocabularySize;
      const last = Array.from(logits.subarray(logits.length - v));
      last[0] = -Infinity;
      expect(model.decode([last.indexOf(Math.max(...last))])).toBe(c);
      text += c;
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('encodes unknown characters to the reserved id and rejects bad options', async () => {
    const model = createModel(tinyCharLM(), { seed: 5 });
    expect(Array.from(model.encode('ab?'))).toEqual([1, 2, 0]);
    expect(model.decode([1, 2, 0])).toBe('ab\uFFFD');
    expect(() => model.decode([99])).toThrow(/ids must be integers in \[0, 30\), got 99/);
    const first = (prompt: string, options: object) =>
      model.generate(prompt, options as never).next();
    await expect(first('', { maxTokens: 1 })).rejects.toThrow(/prompt must be a non-empty string/);
    await expect(first('a', { maxTokens: -1 })).rejects.toThrow(
      /maxTokens must be an integer >= 0/,
    );
    await expect(first('a', { maxTokens: 1, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(first('a', { maxTokens: 1, topK: 0 })).rejects.toThrow(
      /topK must be a positive integer/,
    );
    expect(() => model.logits(tf.zeros([1, 17], 'int32') as tf.Tensor2D)).toThrow(
      /ids must have shape \[B, L\] with 1 <= L <= maxLength = 16, got \[1, 17\]/,
    );
    model.dispose();
  });

  it('refuses token ids outside [0, vocabularySize) where they enter, keeping the context', async () => {
    const model = createModel(tinyCharLM(), { seed: 5 });
    const session = model.createSession();
    await session.prefill(model.encode('it was'));
    const memory = tf.memory();
    const ids = (values: number[][]) => tf.tensor2d(values, undefined, 'int32');
    for (const [bad, got] of [
      [999, '999 at flat index 1'],
      [-1, '-1 at flat index 1'],
      [30, '30 at flat index 1'],
    ] as const) {
      const input = ids([[1, bad, 2]]);
      expect(() => model.logits(input)).toThrow(
        `CharLM.logits: ids must be in [0, vocabularySize = 30), got ${got}`,
      );
      input.dispose();
    }
    expect(() => model.logits([[1, 2]] as never)).toThrow(
      'CharLM.logits: ids must be an int32 tf.Tensor2D [B, L], got an array of length 1',
    );
    await expect(session.step(999)).rejects.toThrow(
      'GenerationSession.step: id must be an integer in [0, vocabularySize = 30), got 999',
    );
    await expect(session.step(2.5)).rejects.toThrow('got 2.5');
    await expect(session.step('3' as never)).rejects.toThrow("got '3'");
    await expect(session.prefill([-1, 2.5, 1e9])).rejects.toThrow(
      'GenerationSession.prefill: ids must be integers in [0, vocabularySize = 30), got -1 at index 0',
    );
    await expect(session.prefill([1, 2.5, 1e9])).rejects.toThrow('got 2.5 at index 1');
    await expect(session.prefill([1, 2, 1e9])).rejects.toThrow('got 1000000000 at index 2');
    await expect(session.prefill('it was' as never)).rejects.toThrow(
      "GenerationSession.prefill: ids must be an array of token ids (model.encode(text) gives them), got 'it was'",
    );
    expect(() => model.encode(42 as never)).toThrow('CharLM.encode: text must be a string, got 42');
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
    // The refused calls left the context alone: the next step continues 'it was'.
    const next = await session.step(model.encode(' ')[0]);
    const reference = parallelLogits(model, model.encode('it was '));
    const v = model.vocabularySize;
    expect(maxAbsDiff(next, reference.subarray(reference.length - v))).toBeLessThan(1e-4);
    session.dispose();
    model.dispose();
  });

  it('generate, logits, prefill and step after dispose() give a clear error and leak nothing', async () => {
    for (const attention of [EA6, SOFTMAX]) {
      const memory = tf.memory();
      const model = createModel(tinyCharLM({ attention }), { seed: 6 });
      const stream = model.generate('it was', { maxTokens: 5 });
      await stream.next();
      const session = model.createSession();
      const ids = tf.tensor2d([[1, 2]], undefined, 'int32');
      model.dispose();
      // Disposed in the middle of a generation: the next step must not touch the variables.
      await expect(stream.next()).rejects.toThrow(
        'GenerationSession.step: the model has been disposed',
      );
      await expect(model.generate('it', { maxTokens: 1 }).next()).rejects.toThrow(
        'CharLM: the model has been disposed',
      );
      expect(() => model.logits(ids)).toThrow('CharLM: the model has been disposed');
      await expect(session.prefill([1, 2])).rejects.toThrow(
        'GenerationSession.prefill: the model has been disposed',
      );
      await expect(session.step(1)).rejects.toThrow(
        'GenerationSession.step: the model has been disposed',
      );
      ids.dispose();
      expect(tf.memory().numTensors).toBe(memory.numTensors);
      expect(tf.memory().numDataBuffers).toBe(memory.numDataBuffers);
    }
  });
});
