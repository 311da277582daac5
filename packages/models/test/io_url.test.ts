import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, loadModel, type Model, saveModel } from '../src/index.js';
import { MAX_MODEL_JSON_BYTES } from '../src/io/limits.js';
import { loadFromUrl } from '../src/pretrained/from_pretrained.js';
import { tinyCharLM, useBackend } from './helpers.js';

/**
 * `loadModel('http://…')` and `loadFromUrl` (the browser path of fromPretrained) against a
 * local server that serves whatever path it is asked for, as a careless static server would:
 * a weights URL that escapes the model's folder would be answered, with valid weights.
 */

type Json = Record<string, unknown> & {
  weightsManifest: Array<{ paths: unknown[]; weights: Array<Record<string, unknown>> }>;
};

let model: Model;
let goodJson: Json;
let goodWeights: Uint8Array;
/** Path → body; a function answers itself. */
const routes = new Map<
  string,
  Uint8Array | string | ((res: import('node:http').ServerResponse) => void)
>();
const requested: string[] = [];
let server: Server;
let origin: string;
/** Bytes the never-ending routes managed to write before the client hung up. */
const streamed = { zeros: 0 };

beforeAll(async () => {
  await useBackend('cpu');
  model = createModel(tinyCharLM({ numLayers: 1 }), { seed: 2 });
  await saveModel(
    model,
    tf.io.withSaveHandler(async (artifacts) => {
      goodWeights = new Uint8Array(artifacts.weightData as ArrayBuffer);
      goodJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: {},
        userDefinedMetadata: artifacts.userDefinedMetadata,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs as never }],
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  routes.set('/models/outside/weights.bin', goodWeights);
  // Never ends: reading it whole would never finish.
  routes.set('zeros.bin', (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = new Uint8Array(64 * 1024);
    const write = () => {
      while (!res.destroyed && res.write(chunk)) streamed.zeros += chunk.byteLength;
      if (!res.destroyed) res.once('drain', write);
    };
    write();
  });
  routes.set('liar.bin', (res) => {
    res.writeHead(200, { 'content-length': String(10 * goodWeights.byteLength) });
    res.write(goodWeights);
  });
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requested.push(path);
    // Files of any folder named zeros.bin or liar.bin answer as those routes.
    const route = routes.get(path) ?? routes.get(path.slice(path.lastIndexOf('/') + 1));
    if (route === undefined) {
      res.writeHead(404).end();
    } else if (typeof route === 'function') {
      route(res);
    } else {
      res.writeHead(200).end(route);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  model.dispose();
  server.closeAllConnections();
  server.close();
});

let models = 0;
/** Serves the good model.json changed by `edit` with weights.bin beside it; returns its URL. */
function serve(edit: (json: Json) => void = () => {}, json?: string): string {
  const folder = `/models/m${models++}`;
  const changed = structuredClone(goodJson);
  edit(changed);
  routes.set(`${folder}/model.json`, json ?? JSON.stringify(changed));
  routes.set(`${folder}/weights.bin`, goodWeights);
  return `${origin}${folder}/model.json`;
}
const withPaths =
  (...paths: unknown[]) =>
  (json: Json) => {
    json.weightsManifest[0].paths = paths;
  };

describe('loading over http', () => {
  it('the unchanged model loads through loadModel and loadFromUrl, with the query kept', async () => {
    const url = serve();
    for (const loaded of [await loadModel(url), await loadFromUrl(new URL(`${url}?v=3`))]) {
      expect(loaded.parameterCount()).toBe(model.parameterCount());
      loaded.dispose();
    }
    expect(requested).toContain(new URL(url).pathname.replace('model.json', 'weights.bin'));
  });

  it('reports the fraction of the weights read, rising to 1, for a progress bar', async () => {
    const fractions: number[] = [];
    const loaded = await loadFromUrl(new URL(serve()), (fraction) => fractions.push(fraction));
    loaded.dispose();
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)).toBe(1);
    for (let i = 1; i < fractions.length; i++)
      expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
  });

  it.each([
    ['../outside/weights.bin', "must stay inside the model's folder (no '..' segments)"],
    [
      '%2e%2e/outside/weights.bin',
      "must stay inside the model's folder (no '..' segments), got \"../outside/weights.bin\" once percent-decoded",
    ],
    [
      'x%2F..%2F..%2Foutside/weights.bin',
      "must stay inside the model's folder (no '..' segments), got \"x/../../outside/weights.bin\" once percent-decoded",
    ],
    ['/models/outside/weights.bin', "must be relative to the model's folder, not absolute"],
    ['//127.0.0.1:1/weights.bin', "must be relative to the model's folder, not absolute"],
    ['http://127.0.0.1:1/weights.bin', "must be relative to the model's folder, not a URL"],
    ['..\\outside\\weights.bin', "must use '/' as separator"],
    ['weights.bin?x=1', "must not contain '?' or '#'"],
  ])('refuses the weights path %s', async (path, message) => {
    const before = requested.length;
    await expect(loadModel(serve(withPaths(path)))).rejects.toThrow(
      `weightsManifest[0].paths[0] ${message}`,
    );
    // Only model.json was fetched: the refused URL never was.
    expect(requested.slice(before)).toHaveLength(1);
  });

  it('stops reading a weights response at the declared size: an endless one, a lying Content-Length', async () => {
    await expect(loadModel(serve(withPaths('zeros.bin')))).rejects.toThrow(
      `weights file ${origin}/models/m${models - 1}/zeros.bin is longer than declared: weightsManifest[0]'s specs declare ${goodWeights.byteLength} bytes`,
    );
    expect(streamed.zeros).toBeLessThan(goodWeights.byteLength + 64 * 1024 * 1024);
    await expect(loadModel(serve(withPaths('liar.bin')))).rejects.toThrow(
      'is longer than declared',
    );
  });

  it('refuses a short weights response and a missing one', async () => {
    const url = serve();
    routes.set(
      url.slice(origin.length).replace('model.json', 'weights.bin'),
      goodWeights.subarray(0, 100),
    );
    await expect(loadModel(url)).rejects.toThrow(
      `has 100 bytes but its weight specs declare ${goodWeights.byteLength} (truncated weights file?)`,
    );
    await expect(loadModel(serve(withPaths('missing.bin')))).rejects.toThrow(
      /cannot fetch .*missing.bin: HTTP 404/,
    );
  });

  it(`refuses a model.json over ${MAX_MODEL_JSON_BYTES} bytes without reading it all`, async () => {
    const url = serve(() => {}, `{"pad": "${' '.repeat(MAX_MODEL_JSON_BYTES)}"}`);
    await expect(loadModel(url)).rejects.toThrow(
      `model.json must be at most ${MAX_MODEL_JSON_BYTES} bytes (16 MiB), got more`,
    );
  });

  it('checks model.json types as the file loader does', async () => {
    await expect(
      loadModel(
        serve((json) => {
          (json as Record<string, unknown>).weightsManifest = [null];
        }),
      ),
    ).rejects.toThrow(
      /^loadModel\(http:.*model.json\): weightsManifest\[0\] must be an object \{paths, weights\}, got null$/,
    );
    await expect(
      loadModel(
        serve((json) => {
          delete json.weightsManifest[0].weights[0].shape;
        }),
      ),
    ).rejects.toThrow(/weightsManifest\[0\].weights\[0\].shape \(weight .*\) must be an array/);
  });

  it('refuses URLs it cannot load from', async () => {
    await expect(loadFromUrl(new URL('data:application/json,{}'))).rejects.toThrow(
      'the model URL must use http:, https:, blob:, got data:',
    );
  });
});
