import './wasm_paths.browser.js';
import '@elementwise/backend-cpu';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import shippedModelUrl from '../pretrained/char-lm-moby-dick-ea6-g8-conv/model.json?url';
import { type CharLM, createModel, loadModel, train } from '../src/index.js';
import { loadFromUrl } from '../src/pretrained/from_pretrained.js';
import { artifactsOf, expectTrainsAtContext, maxAbsDiff, TEXT, tinyCharLM } from './helpers.js';

const GENERATED = 16;

async function generateText(model: CharLM): Promise<string> {
  let text = '';
  for await (const c of model.generate('it was the', {
    maxTokens: GENERATED,
    temperature: 0.8,
    topK: 8,
    seed: 3,
  }))
    text += c;
  return text;
}

describe('in Chromium', () => {
  // webgl runs the composite EA (no fused kernels registered for it here) on SwiftShader, whose
  // shader compiles and read-backs slow down many times over while other packages' browser tests
  // share the two cores: each case is its own test with a budget sized for that.
  for (const backend of ['cpu', 'wasm', 'webgl']) {
    for (const attention of [{ kind: 'ea', order: 6 } as const, { kind: 'softmax' } as const]) {
      it(
        `${backend}, ${attention.kind}: a char LM trains, saves, loads through tf.io and generates the same text`,
        async () => {
          expect(await tf.setBackend(backend)).toBe(true);
          const model = createModel(tinyCharLM({ attention }), { seed: 1 });
          const before = tf.memory().numTensors;
          const { history } = await train(
            model,
            { train: { kind: 'text', text: TEXT } },
            { steps: 3, batchSize: 2, learningRate: 1e-2, seed: 1 },
          );
          expect(history).toHaveLength(3);
          expect(tf.memory().numTensors).toBe(before);
          const loaded = (await loadModel(tf.io.fromMemory(await artifactsOf(model)))) as CharLM;
          const text = await generateText(model);
          expect(text).toHaveLength(GENERATED);
          expect(await generateText(loaded)).toBe(text);
          model.dispose();
          loaded.dispose();
        },
        backend === 'webgl' ? 400_000 : undefined,
      );
    }
  }

  it('wasm: an EA-6 char LM trains at context 8 192 with recompute, leaking nothing', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    await expectTrainsAtContext(8192);
  });

  it('wasm: a shipped model.json loads by fetch with plain tf.loadLayersModel, with the logits of loadModel', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    // The test server serves the package folder: weights.bin is fetched next to model.json.
    const url = new URL(shippedModelUrl, location.href).href;
    const plain = await tfl.loadLayersModel(url);
    const model = (await loadModel(tf.io.http(url))) as CharLM;
    const ids = tf.tensor2d(model.encode('Call me Ishmael.'), [1, 16], 'int32');
    const expected = model.logits(ids);
    const got = plain.predict(ids) as tf.Tensor;
    expect(got.shape).toEqual(expected.shape);
    expect(maxAbsDiff(expected.dataSync(), got.dataSync())).toBe(0);
    tf.dispose([ids, expected, got]);
    plain.dispose();
    model.dispose();
  });

  it('loads model.json + weights.bin by fetch through tf.io.http (the browser path of fromPretrained)', async () => {
    await tf.setBackend('wasm');
    const model = createModel(tinyCharLM(), { seed: 2 });
    const artifacts = await artifactsOf(model);
    // Object URLs stand in for files on a server: tf.io.http fetches both, resolving the
    // weights path against model.json's URL exactly as it would for http(s).
    const weightsUrl = URL.createObjectURL(new Blob([artifacts.weightData as ArrayBuffer]));
    const weightsName = weightsUrl.slice(weightsUrl.lastIndexOf('/') + 1);
    const modelJSON = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      modelTopology: {},
      userDefinedMetadata: artifacts.userDefinedMetadata,
      weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs }],
    };
    const modelUrl = URL.createObjectURL(
      new Blob([JSON.stringify(modelJSON)], { type: 'application/json' }),
    );
    try {
      const viaHttp = (await loadModel(tf.io.http(modelUrl))) as CharLM;
      const viaUrl = (await loadFromUrl(new URL(modelUrl))) as CharLM;
      const text = await generateText(model);
      expect(await generateText(viaHttp)).toBe(text);
      expect(await generateText(viaUrl)).toBe(text);
      for (const m of [viaHttp, viaUrl]) m.dispose();
    } finally {
      URL.revokeObjectURL(modelUrl);
      URL.revokeObjectURL(weightsUrl);
      model.dispose();
    }
  });
});
