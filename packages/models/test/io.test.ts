import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CharLM, createModel, loadModel, saveModel } from '../src/index.js';
import { nodeFileHandler } from '../src/io/node_file_handler.js';
import { artifactsOf, TEXT, tinyCharLM, useBackend } from './helpers.js';

let directory: string;
beforeAll(async () => {
  await useBackend('cpu');
  directory = await mkdtemp(join(tmpdir(), 'elementwise-models-io-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

function logitsOf(model: CharLM): Float32Array {
  return tf.tidy(() => {
    const ids = model.encode(TEXT.slice(0, 12));
    return model.logits(tf.tensor2d(ids, [1, ids.length], 'int32')).dataSync() as Float32Array;
  });
}

describe('saveModel / loadModel', () => {
  it("round-trips through 'file://' in Node: same config, weights and outputs", async () => {
    const model = createModel(
      tinyCharLM({ attention: { kind: 'ea', order: 4, qkNorm: 'rms' }, positional: 'learned' }),
      { seed: 1 },
    );
    const url = `file://${join(directory, 'roundtrip')}`;
    await saveModel(model, url);
    const json = JSON.parse(await readFile(join(directory, 'roundtrip', 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.class_name).toBe('Model');
    expect(json.userDefinedMetadata.elementwise.formatVersion).toBe(2);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const bytes = await readFile(join(directory, 'roundtrip', 'weights.bin'));
    expect(bytes.byteLength).toBe(model.parameterCount() * 4);
    const before = tf.memory().numTensors;
    const loaded = (await loadModel(url)) as CharLM;
    expect(tf.memory().numTensors).toBe(before + Object.keys(model.getWeights()).length);
    expect(loaded.config).toEqual(model.config);
    expect(loaded.task).toBe('char-lm');
    expect(Array.from(logitsOf(loaded))).toEqual(Array.from(logitsOf(model)));
    // Also a path to model.json itself.
    const again = await loadModel(`file://${join(directory, 'roundtrip', 'model.json')}`);
    expect(again.parameterCount()).toBe(model.parameterCount());
    for (const m of [model, loaded, again]) m.dispose();
  });

  it('round-trips every task through in-memory tfjs handlers (as http/indexeddb/browser files use)', async () => {
    const models = [
      createModel(tinyCharLM({ attention: { kind: 'softmax' } }), { seed: 2 }),
      createModel(
        {
          task: 'sequence-classifier',
          inputChannels: 3,
          numClasses: 4,
          classNames: ['a', 'b', 'c', 'd'],
          dModel: 8,
          numHeads: 2,
          numLayers: 1,
          maxLength: 10,
          attention: { kind: 'ea', order: 2 },
        },
        { seed: 3 },
      ),
      createModel(
        {
          task: 'forecaster',
          inputChannels: 2,
          horizon: 3,
          normalization: { mean: [1, 2], std: [3, 4] },
          dModel: 8,
          numHeads: 2,
          numLayers: 1,
          maxLength: 10,
          positional: 'time',
          norm: 'pre',
          attention: { kind: 'ea', order: 6 },
        },
        { seed: 4 },
      ),
    ];
    for (const model of models) {
      const artifacts = await artifactsOf(model);
      const loaded = await loadModel(tf.io.fromMemory(artifacts));
      expect(loaded.config).toEqual(model.config);
      const names = Object.keys(model.getWeights());
      expect(Object.keys(loaded.getWeights())).toEqual(names);
      for (const name of names) {
        expect(Array.from(loaded.getWeights()[name].dataSync()), name).toEqual(
          Array.from(model.getWeights()[name].dataSync()),
        );
      }
      loaded.dispose();
      model.dispose();
    }
  });

  describe('strict validation names what is wrong', () => {
    let model: CharLM;
    let good: tf.io.ModelArtifacts;
    beforeAll(async () => {
      model = createModel(tinyCharLM(), { seed: 5 });
      good = await artifactsOf(model);
    });
    afterAll(() => model.dispose());

    const config = () =>
      (good.userDefinedMetadata as { elementwise: { config: Record<string, unknown> } }).elementwise
        .config;
    const withMeta = (elementwise: unknown): tf.io.ModelArtifacts => ({
      ...good,
      userDefinedMetadata: { elementwise } as never,
    });
    const load = (artifacts: tf.io.ModelArtifacts) => loadModel(tf.io.fromMemory(artifacts));
    const specs = () => good.weightSpecs!.map((s) => ({ ...s, shape: [...s.shape] }));
    const data = () => good.weightData as ArrayBuffer;

    it('format and version', async () => {
      await expect(load({ ...good, format: 'graph-model' })).rejects.toThrow(
        /format must be 'layers-model', got "graph-model"/,
      );
      // Version 1 files name their weights differently and hold no topology.
      await expect(load(withMeta({ formatVersion: 1, config: config() }))).rejects.toThrow(
        /formatVersion must be 2, got 1/,
      );
      await expect(load({ ...good, userDefinedMetadata: {} })).rejects.toThrow(
        /userDefinedMetadata.elementwise is missing/,
      );
    });

    it('unknown or invalid config fields', async () => {
      await expect(
        load(withMeta({ formatVersion: 2, config: { ...config(), heads: 2 } })),
      ).rejects.toThrow(/unknown field heads/);
      await expect(
        load(
          withMeta({
            formatVersion: 2,
            config: { ...config(), attention: { kind: 'ea', order: 5 } },
          }),
        ),
      ).rejects.toThrow(/config.attention.order must be an even integer/);
    });

    it('shape, dtype and name mismatches, missing and extra weights', async () => {
      const name = 'block_0/key/kernel';
      const wrongShape = specs().map((s) => (s.name === name ? { ...s, shape: [8, 32] } : s));
      await expect(load({ ...good, weightSpecs: wrongShape })).rejects.toThrow(
        `weight ${name} must have shape [16, 16] for this config, got [8, 32]`,
      );
      const wrongDtype = specs().map((s) =>
        s.name === name ? { ...s, dtype: 'int32' as const } : s,
      );
      await expect(load({ ...good, weightSpecs: wrongDtype })).rejects.toThrow(
        `weight ${name} must have dtype float32, got int32`,
      );
      const renamed = specs().map((s) =>
        s.name === name ? { ...s, name: 'block_0/keys/kernel' } : s,
      );
      await expect(load({ ...good, weightSpecs: renamed })).rejects.toThrow(
        `missing weights: ${name}`,
      );
      const without = specs().filter((s) => s.name !== 'head/bias');
      const size = model.getWeights()['head/bias'].size * 4;
      const headBias = specs().findIndex((s) => s.name === 'head/bias');
      const offset = specs()
        .slice(0, headBias)
        .reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
      const bytes = new Uint8Array(data());
      const shorter = new Uint8Array(bytes.byteLength - size);
      shorter.set(bytes.subarray(0, offset));
      shorter.set(bytes.subarray(offset + size), offset);
      await expect(
        load({ ...good, weightSpecs: without, weightData: shorter.buffer }),
      ).rejects.toThrow('missing weights: head/bias');
      const extra = [...specs(), { name: 'block_9/extra', shape: [2], dtype: 'float32' as const }];
      const longer = new Uint8Array(bytes.byteLength + 8);
      longer.set(bytes);
      await expect(
        load({ ...good, weightSpecs: extra, weightData: longer.buffer }),
      ).rejects.toThrow('unexpected weights: block_9/extra');
    });

    it('truncated or oversized weight data', async () => {
      const bytes = data().byteLength;
      await expect(load({ ...good, weightData: data().slice(0, bytes - 4) })).rejects.toThrow(
        `weight data has ${bytes - 4} bytes but the weight specs need ${bytes} (truncated weights file?)`,
      );
      await expect(load({ ...good, weightData: new ArrayBuffer(bytes + 4) })).rejects.toThrow(
        /has \d+ bytes but the weight specs need/,
      );
    });

    it('a truncated weights.bin on disk, a missing one, and NaN weights', async () => {
      const url = `file://${join(directory, 'truncated')}`;
      await saveModel(model, url);
      const bin = join(directory, 'truncated', 'weights.bin');
      const full = await readFile(bin);
      await writeFile(bin, full.subarray(0, full.byteLength - 100));
      await expect(loadModel(url)).rejects.toThrow(/truncated weights file/);
      await rm(bin);
      await expect(loadModel(url)).rejects.toThrow(/cannot read weights file .*weights.bin/);
      await expect(loadModel(`file://${join(directory, 'nothing-here')}`)).rejects.toThrow(
        /cannot read .*nothing-here/,
      );
      const nan = new Float32Array(data().slice(0));
      nan[3] = Number.NaN;
      await expect(load({ ...good, weightData: nan.buffer })).rejects.toThrow(
        /holds NaN or infinite values/,
      );
    });

    it('leaves no tensors behind when loading fails', async () => {
      const before = tf.memory().numTensors;
      await expect(load({ ...good, weightData: data().slice(0, 8) })).rejects.toThrow();
      const wrong = specs().map((s) => (s.name === 'head/kernel' ? { ...s, shape: [30, 16] } : s));
      await expect(load({ ...good, weightSpecs: wrong })).rejects.toThrow();
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('rejects an unknown URL scheme and a handler without save/load', async () => {
    const model = createModel(tinyCharLM(), { seed: 6 });
    await expect(saveModel(model, 'ftp://somewhere')).rejects.toThrow(
      /no tfjs IOHandler for "ftp:\/\/somewhere"/,
    );
    await expect(loadModel({} as tf.io.IOHandler)).rejects.toThrow(/has no load\(\) method/);
    model.dispose();
  });

  it('nodeFileHandler accepts plain paths', async () => {
    const model = createModel(tinyCharLM(), { seed: 7 });
    await saveModel(model, nodeFileHandler(join(directory, 'plain')));
    const loaded = await loadModel(nodeFileHandler(join(directory, 'plain')));
    expect(loaded.parameterCount()).toBe(model.parameterCount());
    model.dispose();
    loaded.dispose();
  });
});
