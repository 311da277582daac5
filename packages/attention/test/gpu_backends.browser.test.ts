import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { elementwiseAttention } from '../src/index.js';
import type { Case } from './helpers.js';
import {
  describeCase,
  disposeCase,
  expectClose,
  makeCase,
  oracleBackward,
  oracleForward,
  randomNormal,
} from './helpers.js';

/**
 * The composite op on the browser GPU backends, in a real headless Chromium (SwiftShader), against
 * the float64 oracle. GPU shaders evaluate exp/division less exactly than the CPU, so the bound
 * is wider than the Node suites' 1e-5; sizes stay small because software GPUs are slow.
 */
const GPU_BOUND = 1e-4;

const GPU_CASES: Case[] = [
  { batch: 2, queries: 7, keys: 7, channels: 5, order: 6, causal: true, masked: true },
  { batch: 1, queries: 4, keys: 9, channels: 3, order: 2, causal: false, withState: true },
  { batch: 1, queries: 5, keys: 6, channels: 4, order: 'exact', causal: false, masked: true },
  { batch: 1, queries: 150, keys: 150, channels: 3, order: 8, causal: true },
];

async function describeDevice(backend: string): Promise<string> {
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    return info
      ? String(gl!.getParameter(info.UNMASKED_RENDERER_WEBGL))
      : 'unknown WebGL2 renderer';
  }
  const adapter = await navigator.gpu?.requestAdapter();
  // `GPUAdapter.info` is newer than the WebGPU type definitions tfjs depends on.
  const info = (
    adapter as { info?: { vendor: string; architecture: string; description: string } } | null
  )?.info;
  return info
    ? `${info.vendor} ${info.architecture} ${info.description}`.trim()
    : 'unknown WebGPU adapter';
}

describe.each(['webgl', 'webgpu'])(
  'composite elementwiseAttention on %s in Chromium',
  (backend) => {
    it('initialises on a float32-capable device', async () => {
      expect(await tf.setBackend(backend), `tfjs backend ${backend} failed to initialise`).toBe(
        true,
      );
      await tf.ready();
      console.info(`[${backend}] device: ${await describeDevice(backend)}`);
      if (backend === 'webgl') {
        // Float16-only devices would return garbage for EA's moments; these tests need float32.
        expect(tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')).toBe(true);
      }
    });

    it.each(GPU_CASES.map((c) => [describeCase(c), c] as const))(
      'forward and gradients: %s',
      async (_, c) => {
        // Inputs and the oracle's answers are prepared on the CPU backend (synchronous reads);
        // tfjs moves the inputs to the GPU backend when the op first uses them there.
        await tf.setBackend('cpu');
        const start = tf.memory().numTensors;
        const t = makeCase(c);
        const dy = randomNormal(t.q.shape, 11);
        const expected = oracleForward(c, t);
        const reference = oracleBackward(c, t, dy.dataSync());
        await tf.setBackend(backend);
        const options = { order: c.order, causal: c.causal, mask: t.mask, initialState: t.state };
        const y = elementwiseAttention(t.q, t.k, t.v, options);
        expectClose(await y.data(), expected.y, GPU_BOUND, 'y');
        const grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
          tf.sum(tf.mul(elementwiseAttention(q, k, v, options), dy)),
        )([t.q, t.k, t.v]);
        expectClose(await grads[0].data(), reference.dq, GPU_BOUND, 'dq');
        expectClose(await grads[1].data(), reference.dk, GPU_BOUND, 'dk');
        expectClose(await grads[2].data(), reference.dv, GPU_BOUND, 'dv');
        tf.dispose([y, dy, ...grads]);
        disposeCase(t);
        expect(tf.memory().numTensors).toBe(start);
      },
    );
  },
);

afterAll(() => tf.engine().reset());
