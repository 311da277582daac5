import './wasm_paths.browser.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import type * as Tfjs from '@tensorflow/tfjs';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { elementwiseAttentionLayer, multiHeadAttentionLayer } from '../src/index.js';
import { expectClose, randomNormal } from './helpers.js';
import { trainSaveLoadPredict } from './story.js';

/** tfjs-core and tfjs-layers as one `tf` namespace, the way the union package presents them. */
const tf = { ...tfc, ...tfl } as unknown as typeof Tfjs;

const ATTENTIONS = [
  {
    className: 'ElementwiseAttentionLayer',
    make: () => elementwiseAttentionLayer({ order: 6, causal: true }),
  },
  {
    className: 'MultiHeadAttentionLayer',
    make: () => multiHeadAttentionLayer({ numHeads: 2, keyDim: 8, causal: true }),
  },
];

describe('in Chromium', () => {
  // webgl runs the composite EA (no fused kernels are registered here) on SwiftShader, whose shader
  // compiles and read-backs slow down many times over while other packages' browser tests share
  // the two cores.
  for (const backend of ['cpu', 'wasm', 'webgl']) {
    const budget = { timeout: backend === 'webgl' ? 400_000 : 120_000 };
    it(
      `${backend}: the tf.sequential story trains, saves, loads and predicts identically (EA and softmax)`,
      budget,
      async () => {
        expect(await tfc.setBackend(backend)).toBe(true);
        // tfjs 4.22's wasm backend cannot train tf.layers.embedding (see story.ts).
        const inputs = backend === 'wasm' ? 'one-hot' : 'embedding';
        for (const { make, className } of ATTENTIONS) {
          await trainSaveLoadPredict(
            tf,
            () => make() as unknown as Tfjs.layers.Layer,
            className,
            inputs,
          );
        }
      },
    );

    it(`${backend}: prefill + step equal the parallel call (EA and softmax)`, budget, async () => {
      expect(await tfc.setBackend(backend)).toBe(true);
      for (const { make } of ATTENTIONS) {
        const layer = make();
        const x = randomNormal([2, 6, 8], 3, 1);
        const mask = tfc.tensor2d([
          [1, 1, 1, 1, 1, 1],
          [0, 1, 1, 1, 1, 1],
        ]);
        const parallel = layer.apply(x, { mask }) as tfc.Tensor;
        const first = layer.prefill(tfc.slice(x, [0, 0, 0], [2, 3, 8]), {
          mask: tfc.slice(mask, [0, 0], [2, 3]),
        });
        const outputs = [first.y];
        let state = first.state as never;
        for (let i = 3; i < 6; i++) {
          const next = layer.step(tfc.reshape(tfc.slice(x, [0, i, 0], [2, 1, 8]), [2, 8]), state);
          outputs.push(tfc.expandDims(next.y, 1));
          state = next.state as never;
        }
        // WebGL on SwiftShader keeps float32 but its exp/pow differ slightly from the CPU's.
        const bound = backend === 'webgl' ? 1e-4 : 1e-5;
        expectClose(tfc.concat(outputs, 1), parallel.dataSync(), bound, `${layer.name}`);
        layer.dispose();
      }
    });
  }
});
