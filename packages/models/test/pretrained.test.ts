import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// The fused kernels, as the CLI and the demo run the shipped models.
import '@elementwise/backend-cpu';
// What tf.loadLayersModel needs to rebuild the topology: the layers' registered classes.
import '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CharLM,
  createModel,
  fromPretrained,
  listPretrained,
  saveModel,
} from '../src/index.js';
import { loadPretrained, pretrainedUrl } from '../src/pretrained/from_pretrained.js';
import { PRETRAINED, type PretrainedEntry } from '../src/pretrained/registry.js';
import { maxAbsDiff, tinyCharLM, useBackend } from './helpers.js';

let directory: string;
beforeAll(async () => {
  await useBackend('cpu');
  directory = await mkdtemp(join(tmpdir(), 'elementwise-models-pretrained-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

const registry: PretrainedEntry[] = [
  {
    name: 'tiny-ea',
    task: 'char-lm',
    description: 'a tiny test model',
    metrics: { bitsPerChar: 4.5 },
  },
  {
    name: 'mislabelled',
    task: 'forecaster',
    description: 'registered with the wrong task',
    metrics: {},
  },
];
const locate = (name: string) => pathToFileURL(join(directory, name, 'model.json'));

describe('fromPretrained', () => {
  it('loads a registered model through the same loader (file: URL in Node)', async () => {
    const model = createModel(tinyCharLM(), { seed: 1 });
    await saveModel(model, `file://${join(directory, 'tiny-ea')}`);
    const loaded = await loadPretrained('tiny-ea', registry, locate);
    expect(loaded.config).toEqual(model.config);
    const a = tf.tidy(() =>
      Array.from(model.logits(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')).dataSync()),
    );
    const b = tf.tidy(() =>
      Array.from(
        (loaded as typeof model).logits(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')).dataSync(),
      ),
    );
    expect(b).toEqual(a);
    model.dispose();
    loaded.dispose();
  });

  it('an unknown name lists the available ones', async () => {
    await expect(loadPretrained('gpt-5', registry, locate)).rejects.toThrow(
      'fromPretrained: unknown model "gpt-5"; available: tiny-ea, mislabelled',
    );
    const shipped = PRETRAINED.map((e) => e.name);
    await expect(fromPretrained('gpt-5')).rejects.toThrow(
      shipped.length > 0
        ? `available: ${shipped.join(', ')}`
        : 'available: (none shipped in this version)',
    );
  });

  it('rejects a model whose task differs from its registry entry', async () => {
    const model = createModel(tinyCharLM(), { seed: 2 });
    await saveModel(model, `file://${join(directory, 'mislabelled')}`);
    const before = tf.memory().numTensors;
    await expect(loadPretrained('mislabelled', registry, locate)).rejects.toThrow(
      'fromPretrained: mislabelled is registered as forecaster but holds a char-lm model',
    );
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('resolves shipped models to packages/models/pretrained/<name>/model.json', () => {
    const path = fileURLToPath(pretrainedUrl('char-lm-moby-dick-ea6'));
    const here = import.meta.url;
    expect(path).toBe(
      fileURLToPath(new URL('../pretrained/char-lm-moby-dick-ea6/model.json', here)),
    );
    expect(pretrainedUrl('a b', 'https://example.com/models').href).toBe(
      'https://example.com/models/a%20b/model.json',
    );
  });

  it('fromPretrained takes a baseUrl for bundled apps', async () => {
    await expect(fromPretrained('nope', { baseUrl: 'https://example.com/m/' })).rejects.toThrow(
      /unknown model "nope"/,
    );
  });

  it('listPretrained returns copies of the registry entries', () => {
    const list = listPretrained();
    expect(list.map((e) => e.name)).toEqual(PRETRAINED.map((e) => e.name));
    for (const entry of list) {
      expect(typeof entry.description).toBe('string');
      expect(['char-lm', 'sequence-classifier', 'forecaster']).toContain(entry.task);
    }
  });

  // The paper-pure EA-6 is left out: its trained |2qk| reaches 96 (RESULTS.md §2), where the
  // alternating Taylor terms cancel and magnify the float32 rounding of the recurrent state, so
  // its steps drift from the parallel forward (by 7e-4 of the logits' scale with the fused
  // kernels). The models with short convolutions keep |2qk| small enough (RESULTS.md §6).
  const exactSteps = PRETRAINED.filter(
    (e) => e.task === 'char-lm' && e.name !== 'char-lm-moby-dick-ea6',
  );

  it('shipped char LMs generate step by step exactly as their parallel forward', async () => {
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely, having';
    expect(exactSteps.map((e) => e.name)).toContain('char-lm-moby-dick-ea6-g8-conv');
    for (const entry of exactSteps) {
      const model = (await fromPretrained(entry.name)) as CharLM;
      const ids = model.encode(text);
      const vocabulary = model.vocabularySize;
      const logits = tf.tidy(() => model.logits(tf.tensor2d(ids, [1, ids.length], 'int32')));
      const reference = logits.dataSync();
      logits.dispose();
      const session = model.createSession();
      const rows = [await session.prefill(ids.subarray(0, 8))];
      for (let i = 8; i < ids.length; i++) rows.push(await session.step(ids[i]));
      session.dispose();
      rows.forEach((row, j) => {
        const position = 7 + j;
        const expected = reference.subarray(position * vocabulary, (position + 1) * vocabulary);
        const scale = Math.max(1, ...Array.from(expected, Math.abs));
        expect(maxAbsDiff(expected, row) / scale, `${entry.name} at ${position}`).toBeLessThan(
          1e-5,
        );
      });
      model.dispose();
    }
  });

  it('every registered model loads from pretrained/', async () => {
    for (const entry of PRETRAINED) {
      const model = await fromPretrained(entry.name);
      expect(model.task).toBe(entry.task);
      model.dispose();
    }
  });

  it('a shipped model.json loads with plain tf.loadLayersModel and gives the logits of fromPretrained', async () => {
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely, having';
    for (const name of ['char-lm-moby-dick-ea6-g8-conv', 'char-lm-moby-dick-softmax-conv']) {
      const model = (await fromPretrained(name)) as CharLM;
      const folder = dirname(fileURLToPath(pretrainedUrl(name)));
      const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
      const weights = await readFile(join(folder, json.weightsManifest[0].paths[0]));
      const plain = await tfl.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
        }),
      );
      const ids = tf.tensor2d(model.encode(text), [1, text.length], 'int32');
      const expected = tf.tidy(() => model.logits(ids));
      const got = plain.predict(ids) as tf.Tensor;
      expect(got.shape).toEqual(expected.shape);
      expect(maxAbsDiff(expected.dataSync(), got.dataSync()), name).toBe(0);
      tf.dispose([ids, expected, got]);
      plain.dispose();
      model.dispose();
    }
  });
});
