import { writeFile } from 'node:fs/promises';
import {
  type AttentionConfig,
  type CharLM,
  type CharLMConfig,
  createModel,
  evaluate,
  train,
} from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, useBackend } from '../backend.js';
import {
  keylessAccuracy,
  RECALL_VALUES,
  RECALL_VOCABULARY,
  type RecallSequence,
  recallSequences,
} from '../data/recall.js';
import { machineDescription } from '../machine.js';
import { attentionLabel, type EaFlags, withEaFlags } from '../options.js';
import { formatCount, formatDuration } from '../ui/format.js';
import { ProgressDisplay } from '../ui/progress.js';
import { printTable } from '../ui/table.js';

export interface RecallCommandOptions extends EaFlags {
  attention: AttentionConfig[];
  backend: BackendName;
  pairs: number;
  shortConv: number;
  outputGate: boolean;
  dModel: number;
  layers: number;
  heads: number;
  steps: number;
  batchSize: number;
  lr: number;
  trainSequences: number;
  testSequences: number;
  seed: number;
  json?: string;
}

interface RecallResult {
  attention: string;
  parameters: number;
  recallAccuracy: number;
  testBitsPerChar: number;
  trainSeconds: number;
}

/** Seeds of the three splits: the test sequences are never trained on. */
const SPLIT_SEEDS = { train: 1, validation: 2, test: 3 };

/**
 * In-context recall (data/recall.ts): trains one char LM per attention on recall sequences, then
 * reads its greedy prediction of every value after the separator on held-out sequences.
 */
export async function recallCommand(options: RecallCommandOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const split = (count: number, seed: number) =>
    recallSequences(count, options.pairs, seed * 1000 + options.seed);
  const trainText = split(options.trainSequences, SPLIT_SEEDS.train)
    .map((s) => s.text)
    .join('');
  const validation = split(Math.ceil(options.testSequences / 4), SPLIT_SEEDS.validation);
  const test = split(options.testSequences, SPLIT_SEEDS.test);
  const sequenceLength = test[0].text.length;
  // Two sequences per window: every training window then holds at least one whole sequence.
  const context = 2 * sequenceLength;
  const results: RecallResult[] = [];
  for (const attention of withEaFlags(options.attention, options)) {
    const label = attentionLabel(attention);
    const config: CharLMConfig = {
      task: 'char-lm',
      vocabulary: RECALL_VOCABULARY,
      dModel: options.dModel,
      numHeads: options.heads,
      numLayers: options.layers,
      ffMultiplier: 2,
      dropout: 0,
      maxLength: context,
      shortConv: options.shortConv,
      outputGate: options.outputGate,
      attention,
    };
    const model = createModel(config, { seed: options.seed }) as CharLM;
    try {
      const progress = new ProgressDisplay(options.steps, `${label} step`, 10);
      const started = Date.now();
      try {
        await train(
          model,
          {
            train: { kind: 'text', text: trainText },
            validation: { kind: 'text', text: validation.map((s) => s.text).join('') },
          },
          {
            steps: options.steps,
            batchSize: options.batchSize,
            learningRate: options.lr,
            warmupSteps: Math.min(100, options.steps),
            minLearningRate: options.lr / 30,
            weightDecay: 0.01,
            clipNorm: 1,
            evalEvery: options.steps,
            seed: options.seed,
            onProgress: (event) =>
              progress.update({ step: event.step, loss: event.loss, note: undefined }),
          },
        );
      } finally {
        progress.stop();
      }
      const trainSeconds = (Date.now() - started) / 1000;
      const testMetrics = await evaluate(model, {
        kind: 'text',
        text: test.map((s) => s.text).join(''),
      });
      const result = {
        attention: label,
        parameters: model.parameterCount(),
        recallAccuracy: recallAccuracy(model, test),
        testBitsPerChar: testMetrics.bitsPerChar ?? Number.NaN,
        trainSeconds,
      };
      // Each model takes minutes: report it as soon as it is done, the table follows at the end.
      process.stderr.write(
        `${label}: recall accuracy ${result.recallAccuracy.toFixed(3)}, test bits/char ${result.testBitsPerChar.toFixed(3)}\n`,
      );
      results.push(result);
    } finally {
      model.dispose();
    }
  }
  const block = `${options.shortConv > 0 ? `short conv ${options.shortConv}` : 'no short conv'}, ${options.outputGate ? 'output gate' : 'no output gate'}`;
  printTable(
    `in-context recall, ${options.pairs} pairs per sequence, ${test.length} held-out sequences (${test.length * options.pairs} queries); ` +
      `char LM dModel ${options.dModel}, ${options.layers} layers, ${block}, context ${context}; ` +
      `${options.steps} steps × batch ${options.batchSize}; backend ${backend.name} (${backend.eaKernels}); ${machineDescription()}`,
    ['model', 'parameters', 'recall accuracy (↑)', 'test bits/char (↓)', 'train time'],
    [
      ...results.map((r) => [
        r.attention,
        formatCount(r.parameters),
        r.recallAccuracy.toFixed(3),
        r.testBitsPerChar.toFixed(3),
        formatDuration(r.trainSeconds * 1000),
      ]),
      ['best rule ignoring the keys', '—', keylessAccuracy(test).toFixed(3), '—', '—'],
      ['chance', '—', (1 / RECALL_VALUES.length).toFixed(3), '—', '—'],
    ],
  );
  if (options.json) {
    const record = {
      options,
      machine: machineDescription(),
      keyless: keylessAccuracy(test),
      results,
    };
    await writeFile(options.json, `${JSON.stringify(record, null, 2)}\n`);
  }
}

/** Fraction of the answers whose greedy (argmax) prediction is the right value. */
export function recallAccuracy(
  model: Pick<CharLM, 'encode' | 'logits'>,
  sequences: RecallSequence[],
): number {
  // The model reads '\n' + sequence from position 0, as a sequence starts after a newline in
  // training; the logits at input position p predict the sequence's character p.
  const length = sequences[0].text.length;
  let correct = 0;
  let total = 0;
  const chunk = 64;
  for (let start = 0; start < sequences.length; start += chunk) {
    const part = sequences.slice(start, start + chunk);
    const ids = new Int32Array(part.length * length);
    part.forEach((s, i) => {
      ids.set(model.encode(`\n${s.text.slice(0, -1)}`), i * length);
    });
    const predicted = tf.tidy(() =>
      tf.argMax(model.logits(tf.tensor2d(ids, [part.length, length], 'int32')), 2),
    );
    const best = predicted.dataSync();
    predicted.dispose();
    part.forEach((s, i) => {
      for (const position of s.answers) {
        if (best[i * length + position] === model.encode(s.text[position])[0]) correct++;
        total++;
      }
    });
  }
  return correct / total;
}
