import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { recallAccuracy } from '../src/commands/recall.js';
import {
  keylessAccuracy,
  RECALL_KEYS,
  RECALL_SEPARATOR,
  RECALL_VALUES,
  RECALL_VOCABULARY,
  type RecallSequence,
  recallSequences,
} from '../src/data/recall.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('recall sequences', () => {
  it('list distinct keys with values, then ask every key once, each answer its own value', () => {
    const sequences = recallSequences(200, 8, 5);
    for (const { text, answers, remaining } of sequences) {
      expect(text).toHaveLength(4 * 8 + 2);
      expect(text.endsWith('\n')).toBe(true);
      const [listed, asked] = text.slice(0, -1).split(RECALL_SEPARATOR);
      const pairs = new Map<string, string>();
      for (let i = 0; i < listed.length; i += 2) {
        expect(RECALL_KEYS).toContain(listed[i]);
        expect(RECALL_VALUES).toContain(listed[i + 1]);
        expect(pairs.has(listed[i])).toBe(false);
        pairs.set(listed[i], listed[i + 1]);
      }
      expect(new Set(asked.match(/../g)?.map((pair) => pair[0]))).toEqual(new Set(pairs.keys()));
      answers.forEach((position, n) => {
        expect(text[position]).toBe(pairs.get(text[position - 1]));
        expect(remaining[n]).toHaveLength(8 - n);
        expect(remaining[n]).toContain(text[position]);
      });
    }
  });

  it('are the same for the same seed and differ for another', () => {
    const text = (seed: number) => recallSequences(3, 5, seed).map((s) => s.text);
    expect(text(1)).toEqual(text(1));
    expect(text(1)).not.toEqual(text(2));
  });

  it('rejects a pair count outside 1..26', () => {
    expect(() => recallSequences(1, 27, 1)).toThrow(
      '--pairs must be an integer from 1 to 26, got 27',
    );
    expect(() => recallSequences(1, 0, 1)).toThrow('got 0');
  });

  it('score the keyless rule as the mode of the values not yet asked for', () => {
    // Values 1, 1, 2 asked in order 2, 1, 1: modes {1} (wrong), then {1, 2} tied (½), then {1}.
    const sequence: RecallSequence = {
      text: 'a1b1c2|c2a1b1\n',
      answers: [8, 10, 12],
      remaining: [['2', '1', '1'], ['1', '1'], ['1']],
    };
    expect(keylessAccuracy([sequence])).toBeCloseTo((0 + 1 + 1) / 3, 12);
    sequence.remaining[1] = ['1', '2'];
    expect(keylessAccuracy([sequence])).toBeCloseTo((0 + 0.5 + 1) / 3, 12);
  });
});

describe('recall accuracy', () => {
  const ids = new Map([...RECALL_VOCABULARY].map((c, i) => [c, i + 1]));
  const encode = (text: string) => Int32Array.from([...text], (c) => ids.get(c) ?? 0);
  /** A stand-in model whose logits at input position p point at `answer(text, p)`. */
  const oracle = (answer: (sequence: string, p: number) => string) => ({
    encode,
    logits: (input: tf.Tensor2D) => {
      const [batch, length] = input.shape;
      const rows = input.arraySync();
      const hot = new Float32Array(batch * length * (ids.size + 1));
      rows.forEach((row, b) => {
        const sequence = row.map((id) => RECALL_VOCABULARY[id - 1]).join('');
        for (let p = 0; p < length; p++) {
          hot[(b * length + p) * (ids.size + 1) + encode(answer(sequence, p))[0]] = 1;
        }
      });
      return tf.tensor3d(hot, [batch, length, ids.size + 1]);
    },
  });
  const sequences = recallSequences(70, 6, 9);

  it('is 1 for a model whose logit at position p names the next character, 0 one position off', () => {
    const before = tf.memory().numTensors;
    // Input is '\n' + sequence: position p holds character p - 1 and predicts character p.
    const nextOf = (input: string, p: number) => {
      const pairs = new Map(input.match(/[a-z][0-9]/g)?.map((pair) => [pair[0], pair[1]]));
      return pairs.get(input[p]) ?? '\n';
    };
    expect(recallAccuracy(oracle(nextOf), sequences)).toBe(1);
    expect(
      recallAccuracy(
        oracle((input, p) => nextOf(input, p - 1)),
        sequences,
      ),
    ).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('elementwise recall', () => {
  it('trains each attention and prints its accuracy beside the keyless rule and chance', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elementwise-recall-'));
    try {
      const json = join(dir, 'recall.json');
      const result = spawnSync(
        process.execPath,
        [
          BIN,
          'recall',
          '--attention',
          'softmax,ea-2',
          '--backend',
          'cpu',
          '--pairs',
          '3',
          '--d-model',
          '16',
          '--steps',
          '3',
          '--train-sequences',
          '50',
          '--test-sequences',
          '20',
          '--short-conv',
          '3',
          '--output-gate',
          '--json',
          json,
        ],
        { encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('3 pairs per sequence, 20 held-out sequences (60 queries)');
      expect(result.stdout).toContain('short conv 3, output gate, context 28');
      const record = JSON.parse(readFileSync(json, 'utf8'));
      expect(record.results.map((r: { attention: string }) => r.attention)).toEqual([
        'softmax',
        'EA-2',
      ]);
      for (const r of record.results) {
        // 60 answers: the accuracy is a multiple of 1/60 and printed in the table.
        expect(Number.isInteger(Math.round(r.recallAccuracy * 60 * 1e9) / 1e9)).toBe(true);
        expect(result.stdout).toContain(r.recallAccuracy.toFixed(3));
        expect(r.parameters).toBeGreaterThan(0);
      }
      expect(result.stdout).toMatch(
        new RegExp(`best rule ignoring the keys\\s*│\\s*—\\s*│\\s*${record.keyless.toFixed(3)}`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
