import { spawnSync } from 'node:child_process';
import {
  appendFile,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rm,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configParameterCount } from '../src/config/parameter_count.js';
import {
  createModel,
  fromPretrained,
  loadModel,
  type Model,
  type ModelConfig,
  saveModel,
} from '../src/index.js';
import { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from '../src/io/limits.js';
import { tinyCharLM, useBackend } from './helpers.js';

/**
 * `loadModel('file://…')` with a hostile model.json: every rule of README "Loading untrusted
 * models" has a case here, on real folders, symlinks, a FIFO and /dev/zero. Each hostile file
 * would load (or hang, or read without end) if its rule were missing: the files it points at
 * exist and hold valid weights.
 */

type Json = Record<string, unknown> & {
  weightsManifest: Array<{ paths: unknown[]; weights: Array<Record<string, unknown>> }>;
};

let root: string;
let model: Model;
let goodJson: string;
let goodWeights: Buffer;

beforeAll(async () => {
  await useBackend('cpu');
  // Resolved, so that paths in expected messages match the loader's realpath-ed ones.
  root = await realpath(await mkdtemp(join(tmpdir(), 'elementwise-models-untrusted-')));
  model = createModel(tinyCharLM({ numLayers: 1 }), { seed: 1 });
  await saveModel(model, `file://${join(root, 'good')}`);
  goodJson = await readFile(join(root, 'good', 'model.json'), 'utf8');
  goodWeights = await readFile(join(root, 'good', 'weights.bin'));
  // A valid weights file outside every model folder below, for paths that try to reach it.
  await mkdir(join(root, 'outside'));
  await writeFile(join(root, 'outside', 'weights.bin'), goodWeights);
});
afterAll(async () => {
  model.dispose();
  await rm(root, { recursive: true, force: true });
});

let folders = 0;
/** A model folder holding weights.bin and the good model.json changed by `edit`. */
async function modelFolder(edit: (json: Json) => void = () => {}): Promise<string> {
  const folder = join(root, `model-${folders++}`);
  await mkdir(folder);
  await writeFile(join(folder, 'weights.bin'), goodWeights);
  const json = JSON.parse(goodJson) as Json;
  edit(json);
  await writeFile(join(folder, 'model.json'), JSON.stringify(json));
  return folder;
}

const withPaths =
  (...paths: unknown[]) =>
  (json: Json) => {
    json.weightsManifest[0].paths = paths;
  };

async function load(folder: string): Promise<Model> {
  return loadModel(`file://${folder}`);
}

describe('weights paths stay inside the model folder', () => {
  it('the unchanged model loads (the cases below differ from it in one thing each)', async () => {
    const loaded = await load(await modelFolder());
    expect(loaded.parameterCount()).toBe(model.parameterCount());
    loaded.dispose();
  });

  it.each(['../outside/weights.bin', 'sub/../../outside/weights.bin', './../outside/weights.bin'])(
    'refuses .. segments: %s',
    async (path) => {
      await expect(load(await modelFolder(withPaths(path)))).rejects.toThrow(
        `weightsManifest[0].paths[0] must stay inside the model's folder (no '..' segments), got ${JSON.stringify(path)}`,
      );
    },
  );

  it('refuses absolute paths, to a valid weights file and to /dev/zero', async () => {
    for (const path of [join(root, 'outside', 'weights.bin'), '/dev/zero']) {
      await expect(load(await modelFolder(withPaths(path)))).rejects.toThrow(
        `weightsManifest[0].paths[0] must be relative to the model's folder, not absolute, got ${JSON.stringify(path)}`,
      );
    }
  });

  it.each([
    `file://${'/outside/weights.bin'}`,
    'file:weights.bin',
    'https://example.com/weights.bin',
    'C:/outside/weights.bin',
  ])('refuses URL schemes and drive letters: %s', async (path) => {
    await expect(load(await modelFolder(withPaths(path)))).rejects.toThrow(
      `must be relative to the model's folder, not a URL, got ${JSON.stringify(path)}`,
    );
  });

  it('refuses backslashes, NUL, empty and non-string paths', async () => {
    const cases: Array<[unknown, string]> = [
      ['..\\outside\\weights.bin', "must use '/' as separator, not backslashes"],
      ['weights\\bin', "must use '/' as separator, not backslashes"],
      ['weights.bin\0.txt', 'must not contain NUL characters'],
      ['', "must be a relative path to a file in the model's folder"],
      [42, 'must be a string, got 42'],
      [['weights.bin'], 'must be a string, got an array of length 1'],
      [null, 'must be a string, got null'],
    ];
    for (const [path, message] of cases) {
      await expect(load(await modelFolder(withPaths(path)))).rejects.toThrow(
        `weightsManifest[0].paths[0] ${message}`,
      );
    }
  });

  it('refuses a symlink that leads out of the folder: to a valid file, to /dev/zero, via a folder', async () => {
    const toFile = await modelFolder(withPaths('link.bin'));
    await symlink(join(root, 'outside', 'weights.bin'), join(toFile, 'link.bin'));
    await expect(load(toFile)).rejects.toThrow(
      `weights path "link.bin" resolves to ${join(root, 'outside', 'weights.bin')}, which is not inside the model's folder`,
    );
    const toZero = await modelFolder(withPaths('zero.bin'));
    await symlink('/dev/zero', join(toZero, 'zero.bin'));
    await expect(load(toZero)).rejects.toThrow(
      `weights path "zero.bin" resolves to /dev/zero, which is not inside the model's folder`,
    );
    const viaFolder = await modelFolder(withPaths('shelf/weights.bin'));
    await symlink(join(root, 'outside'), join(viaFolder, 'shelf'));
    await expect(load(viaFolder)).rejects.toThrow(
      /resolves to .*outside.*which is not inside the model's folder/,
    );
  });

  it('follows a symlink that stays inside the folder', async () => {
    const folder = await modelFolder(withPaths('current.bin'));
    await mkdir(join(folder, 'v1'));
    await copyFile(join(folder, 'weights.bin'), join(folder, 'v1', 'weights.bin'));
    await symlink(join('v1', 'weights.bin'), join(folder, 'current.bin'));
    const loaded = await load(folder);
    expect(loaded.parameterCount()).toBe(model.parameterCount());
    loaded.dispose();
  });
});

describe('only regular files are read', () => {
  it.skipIf(process.platform === 'win32')(
    'refuses a FIFO as weights file and as model.json, without waiting for a writer',
    async () => {
      const folder = await modelFolder(withPaths('pipe.bin'));
      const made = spawnSync('mkfifo', [join(folder, 'pipe.bin')]);
      expect(made.status, `mkfifo failed: ${made.stderr}`).toBe(0);
      await expect(load(folder)).rejects.toThrow(
        `weights file ${join(folder, 'pipe.bin')} is not a regular file (it is a FIFO)`,
      );
      const jsonPipe = join(root, 'json-pipe');
      await mkdir(jsonPipe);
      expect(spawnSync('mkfifo', [join(jsonPipe, 'model.json')]).status).toBe(0);
      await expect(load(jsonPipe)).rejects.toThrow(
        `${join(jsonPipe, 'model.json')} is not a regular file (it is a FIFO)`,
      );
    },
    10_000,
  );

  it('refuses a directory as weights file', async () => {
    const folder = await modelFolder(withPaths('sub'));
    await mkdir(join(folder, 'sub'));
    await expect(load(folder)).rejects.toThrow(
      `weights file ${join(folder, 'sub')} is not a regular file (it is a directory)`,
    );
  });

  it('refuses model.json that is /dev/zero (through a symlink) or larger than the cap', async () => {
    const zero = join(root, 'json-zero');
    await mkdir(zero);
    await symlink('/dev/zero', join(zero, 'model.json'));
    await expect(load(zero)).rejects.toThrow('is not a regular file (it is a character device)');
    // A sparse file: its size is checked before any byte is read.
    const big = await modelFolder();
    await truncate(join(big, 'model.json'), MAX_MODEL_JSON_BYTES + 1);
    await expect(load(big)).rejects.toThrow(
      `model.json must be at most ${MAX_MODEL_JSON_BYTES} bytes (16 MiB), got ${MAX_MODEL_JSON_BYTES + 1}`,
    );
  });
});

describe('weights files hold exactly the bytes the specs declare', () => {
  it('refuses a longer and a shorter weights.bin before reading it', async () => {
    const longer = await modelFolder();
    await appendFile(join(longer, 'weights.bin'), new Uint8Array(4));
    await expect(load(longer)).rejects.toThrow(
      `weights file ${join(longer, 'weights.bin')} has ${goodWeights.byteLength + 4} bytes but its weight specs declare ${goodWeights.byteLength} (longer than declared)`,
    );
    const shorter = await modelFolder();
    await truncate(join(shorter, 'weights.bin'), goodWeights.byteLength - 4);
    await expect(load(shorter)).rejects.toThrow(
      `has ${goodWeights.byteLength - 4} bytes but its weight specs declare ${goodWeights.byteLength} (truncated weights file?)`,
    );
  });

  it('splits a group across shards, and checks their sum', async () => {
    const half = Math.floor(goodWeights.byteLength / 2);
    const sharded = await modelFolder(withPaths('a.bin', 'b.bin'));
    await writeFile(join(sharded, 'a.bin'), goodWeights.subarray(0, half));
    await writeFile(join(sharded, 'b.bin'), goodWeights.subarray(half));
    const loaded = await load(sharded);
    expect(loaded.parameterCount()).toBe(model.parameterCount());
    loaded.dispose();
    await appendFile(join(sharded, 'b.bin'), new Uint8Array(1));
    await expect(load(sharded)).rejects.toThrow(
      `the 2 files of weightsManifest[0] hold ${goodWeights.byteLength + 1} bytes but its weight specs declare ${goodWeights.byteLength}`,
    );
  });
});

describe('model.json is checked for type and size before anything is read or allocated', () => {
  const spec = (edit: (spec: Record<string, unknown>) => void) => (json: Json) => {
    edit(json.weightsManifest[0].weights[0]);
  };
  const first = () => JSON.parse(goodJson).weightsManifest[0].weights[0].name as string;

  it('not JSON, not an object', async () => {
    const folder = await modelFolder();
    await writeFile(join(folder, 'model.json'), '{"weightsManifest": [');
    await expect(load(folder)).rejects.toThrow(/model.json is not valid JSON: /);
    await writeFile(join(folder, 'model.json'), '[1, 2]');
    await expect(load(folder)).rejects.toThrow(
      'model.json must hold a JSON object, got an array of length 2',
    );
  });

  it('weightsManifest and its groups', async () => {
    const cases: Array<[(json: Json) => void, string]> = [
      [
        (json) => {
          delete (json as Partial<Json>).weightsManifest;
        },
        'weightsManifest must be an array of {paths, weights}, got undefined (missing)',
      ],
      [
        (json) => {
          (json as Record<string, unknown>).weightsManifest = {};
        },
        'weightsManifest must be an array of {paths, weights}, got an object',
      ],
      [
        (json) => {
          (json as Record<string, unknown>).weightsManifest = [null];
        },
        'weightsManifest[0] must be an object {paths, weights}, got null',
      ],
      [
        (json) => {
          (json.weightsManifest[0] as Record<string, unknown>).paths = 'weights.bin';
        },
        "weightsManifest[0].paths must be an array of file names, got 'weights.bin'",
      ],
      [
        (json) => {
          (json.weightsManifest[0] as Record<string, unknown>).weights = null;
        },
        'weightsManifest[0].weights must be an array of weight specs, got null',
      ],
      [
        (json) => {
          json.userDefinedMetadata = 'config';
        },
        "userDefinedMetadata must be an object, got 'config'",
      ],
    ];
    for (const [edit, message] of cases) {
      await expect(load(await modelFolder(edit))).rejects.toThrow(message);
    }
  });

  it('weight specs: a missing or invalid shape, name or dtype', async () => {
    const name = first();
    const label = `weightsManifest[0].weights[0]`;
    const cases: Array<[(s: Record<string, unknown>) => void, string]> = [
      [
        (s) => delete s.shape,
        `${label}.shape (weight ${name}) must be an array of integers >= 0, got undefined (missing)`,
      ],
      [
        (s) => (s.shape = [-1, 16]),
        `${label}.shape (weight ${name}) must hold integers >= 0, got [-1, 16]`,
      ],
      [(s) => (s.shape = [1.5]), 'must hold integers >= 0, got [1.5]'],
      [(s) => (s.shape = ['16', 16]), "must hold integers >= 0, got ['16', 16]"],
      [(s) => (s.shape = [1e300]), 'must hold integers >= 0, got [1e+300]'],
      [(s) => (s.shape = [2 ** 53]), 'must hold integers >= 0, got [9007199254740992]'],
      [(s) => delete s.name, `${label}.name must be a non-empty string, got undefined (missing)`],
      [
        (s) => (s.dtype = 'string'),
        `${label}.dtype (weight ${name}) must be one of float32, int32, bool, complex64, got 'string'`,
      ],
      [
        (s) => (s.dtype = 'constructor'),
        `${label}.dtype (weight ${name}) must be one of float32, int32, bool, complex64, got 'constructor'`,
      ],
      [
        (s) => (s.dtype = `float32${'x'.repeat(1000)}\n`),
        `${label}.dtype (weight ${name}) must be one of float32, int32, bool, complex64, got 'float32${'x'.repeat(73)}…'`,
      ],
      [(s) => (s.quantization = { dtype: 'int4' }), 'quantization.dtype (weight'],
    ];
    for (const [edit, message] of cases) {
      await expect(load(await modelFolder(spec(edit)))).rejects.toThrow(message);
    }
    await expect(
      load(
        await modelFolder((json) => {
          json.weightsManifest[0].weights[0] = null as never;
        }),
      ),
    ).rejects.toThrow(`${label} must be an object {name, shape, dtype}, got null`);
  });

  it(`refuses more than ${MAX_WEIGHT_BYTES} declared bytes, before reading the weights`, async () => {
    const one = await modelFolder(spec((s) => (s.shape = [MAX_WEIGHT_BYTES + 1])));
    await expect(load(one)).rejects.toThrow(
      `declares more elements than the ${MAX_WEIGHT_BYTES}-byte limit allows, got [${MAX_WEIGHT_BYTES + 1}]`,
    );
    // Each spec fits, their sum does not. weights.bin is a FIFO: reading it would hang the test.
    const sum = await modelFolder((json) => {
      json.weightsManifest[0].paths = ['pipe.bin'];
      json.weightsManifest[0].weights[0].shape = [2 ** 28, 2];
      json.weightsManifest[0].weights[1].shape = [2 ** 28, 2];
    });
    expect(spawnSync('mkfifo', [join(sum, 'pipe.bin')]).status).toBe(0);
    await expect(load(sum)).rejects.toThrow(
      `weightsManifest[0].weights declare more than ${MAX_WEIGHT_BYTES} bytes of weights (the limit, 2 GiB) by weightsManifest[0].weights[1]`,
    );
  });
});

describe('the weight specs must match the config before the model is built', () => {
  type Meta = { userDefinedMetadata: { elementwise: { config: Record<string, unknown> } } };
  const withConfig = (changes: Record<string, unknown>) => (json: Json) => {
    const { elementwise } = (json as unknown as Meta).userDefinedMetadata;
    elementwise.config = { ...elementwise.config, ...changes };
  };

  /** Loads, checking that no variable is created and no tensor memory ever allocated. */
  async function refusedWithoutAllocating(folder: string, message: string): Promise<void> {
    const variable = vi.spyOn(tf.engine(), 'makeVariable');
    const before = tf.memory();
    try {
      await expect(load(folder)).rejects.toThrow(message);
      expect(variable, 'no tfjs variable created').not.toHaveBeenCalled();
      expect(tf.memory().numBytes).toBe(before.numBytes);
      expect(tf.memory().numTensors).toBe(before.numTensors);
    } finally {
      variable.mockRestore();
    }
  }

  it('a config of 50 M parameters (200 MB) with the manifest of a 0.01 M one is refused, nothing allocated', async () => {
    const changes = { dModel: 2048, numHeads: 2 };
    const big = { ...model.config, ...changes } as ModelConfig;
    expect(configParameterCount(big)).toBeGreaterThan(50e6);
    await refusedWithoutAllocating(
      await modelFolder(withConfig(changes)),
      'weight token_embedding/embeddings must have shape [30, 2048] for this config, got [30, 16]',
    );
  });

  it('more layers in the config than in the manifest: missing weights, nothing allocated', async () => {
    await refusedWithoutAllocating(
      await modelFolder(withConfig({ numLayers: 3 })),
      'missing weights: block_1/query/kernel, block_1/query/bias,',
    );
  });

  it('a renamed or a duplicated weight: refused, nothing allocated', async () => {
    const name = 'block_0/key/kernel';
    const specs = (edit: (weights: Array<Record<string, unknown>>) => void) => (json: Json) =>
      edit(json.weightsManifest[0].weights);
    await refusedWithoutAllocating(
      await modelFolder(
        specs((weights) => {
          const spec = weights.find((w) => w.name === name)!;
          spec.name = 'block_0/keys/kernel';
        }),
      ),
      `missing weights: ${name}`,
    );
    await refusedWithoutAllocating(
      await modelFolder(
        specs((weights) => {
          const spec = weights.find((w) => w.name === name)!;
          spec.name = 'block_0/query/kernel';
        }),
      ),
      'weight block_0/query/kernel appears twice',
    );
  });
});

describe('artifacts from any handler', () => {
  let good: tf.io.ModelArtifacts;
  beforeAll(async () => {
    await saveModel(
      model,
      tf.io.withSaveHandler(async (artifacts) => {
        good = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  });
  const load = (artifacts: tf.io.ModelArtifacts) => loadModel(tf.io.fromMemory(artifacts));

  it('a spec without a shape, a null spec, weight data that is not a buffer: clear errors', async () => {
    const specs = good.weightSpecs!.map((s) => ({ ...s }));
    const name = specs[0].name;
    delete (specs[0] as Partial<tf.io.WeightsManifestEntry>).shape;
    await expect(load({ ...good, weightSpecs: specs })).rejects.toThrow(
      `weightSpecs[0].shape (weight ${name}) must be an array of integers >= 0, got undefined (missing)`,
    );
    await expect(
      load({ ...good, weightSpecs: [null as never, ...good.weightSpecs!.slice(1)] }),
    ).rejects.toThrow('weightSpecs[0] must be an object {name, shape, dtype}, got null');
    await expect(load({ ...good, weightData: [null as never] })).rejects.toThrow(
      'weightData must be an ArrayBuffer or an array of ArrayBuffers',
    );
  });
});

describe('fromPretrained options.baseUrl', () => {
  it('refuses a base that is not a URL, naming it', async () => {
    await expect(fromPretrained('char-lm-moby-dick-ea6', { baseUrl: 'not a url' })).rejects.toThrow(
      `fromPretrained: options.baseUrl must be an absolute URL such as 'https://example.com/pretrained/', got "not a url"`,
    );
    await expect(fromPretrained('char-lm-moby-dick-ea6', { baseUrl: 42 as never })).rejects.toThrow(
      'fromPretrained: options.baseUrl must be an absolute URL as a string or URL, got number',
    );
  });
});
