import '@tensorflow/tfjs-backend-webgl';
import {
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
  elementwiseAttention,
  elementwiseAttentionStep,
  zeroState,
} from '@elementwise/attention';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  kernelConfigs,
  registerWebGLKernels,
  unregisterWebGLKernels,
  webglRenderer,
} from '../src/index.js';
import { randomValues } from './helpers.js';
import { useWebGL } from './renderer.js';

let backend: MathBackendWebGL;

beforeAll(async () => {
  registerWebGLKernels();
  backend = await useWebGL();
});

interface Usage {
  tensors: number;
  dataIds: number;
  gpuBytes: number;
}

function usage(): Usage {
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  return {
    tensors: memory.numTensors,
    dataIds: backend.numDataIds(),
    gpuBytes: memory.numBytesInGPU,
  };
}

function inputs(length: number, channels: number) {
  const shape: [number, number, number] = [2, length, channels];
  const size = 2 * length * channels;
  return {
    q: tf.tensor3d(randomValues(size, 1), shape),
    k: tf.tensor3d(randomValues(size, 2), shape),
    v: tf.tensor3d(randomValues(size, 3), shape),
  };
}

describe('intermediate textures', () => {
  it('forward, gradients and a step loop leave tensors, data ids and GPU bytes as they were', async () => {
    const { q, k, v } = inputs(300, 5);
    const exercise = async () => {
      for (const causal of [true, false]) {
        for (const order of [6, 'exact'] as const) {
          const y = elementwiseAttention(q, k, v, { order, causal });
          await y.data();
          y.dispose();
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(elementwiseAttention(a, b, c, { order, causal })),
          )([q, k, v]);
          await Promise.all(grads.map((g) => g.data()));
          tf.dispose(grads);
        }
      }
      let state = zeroState(6, 2, 5);
      for (let i = 0; i < 20; i++) {
        const token = tf.tidy(() => tf.reshape(tf.slice(q, [0, i, 0], [2, 1, 5]), [2, 5]));
        const next = elementwiseAttentionStep(token, token, token, state, { order: 6 });
        await next.y.data();
        tf.dispose([token, next.y, state.s, state.z]);
        state = next.state;
      }
      tf.dispose([state.s, state.z]);
    };
    // The first run uploads q, k, v and compiles the programs; the second must leave nothing.
    await exercise();
    const before = usage();
    await exercise();
    expect(usage()).toEqual(before);
    tf.dispose([q, k, v]);
  });
});

describe('float32 textures are required', () => {
  const flags = ['WEBGL_RENDER_FLOAT32_CAPABLE', 'WEBGL_FORCE_F16_TEXTURES'] as const;
  const saved = new Map<string, boolean>();

  afterEach(() => {
    for (const [flag, value] of saved) tf.env().set(flag, value);
    saved.clear();
  });

  function pretend(flag: (typeof flags)[number], value: boolean): void {
    saved.set(flag, tf.env().getBool(flag));
    tf.env().set(flag, value);
  }

  it.each([
    ['WEBGL_RENDER_FLOAT32_CAPABLE', false],
    ['WEBGL_FORCE_F16_TEXTURES', true],
  ] as const)(
    'with %s = %s every kernel refuses, naming the flag and the renderer',
    async (flag, value) => {
      // Measured before the inputs exist and compared after they are freed: the op may upload
      // its inputs to textures before a kernel refuses (the huge-value scaling reads v and s).
      const before = usage();
      const { q, k, v } = inputs(9, 3);
      const state = zeroState(2, 2, 3);
      const renderer = webglRenderer(backend);
      const mask = tf.ones([2, 9]);
      const zeros = tf.zeros([2, 3, 3]);
      const token = (x: tf.Tensor) => tf.reshape(tf.slice(x, [0, 0, 0], [2, 1, 3]), [2, 3]);
      const backwardInputs = { q, k, v, mask, initialS: zeros, initialZ: zeros, dy: q };
      const calls: [string, () => unknown][] = [
        [ElementwiseAttentionForward, () => elementwiseAttention(q, k, v, { order: 2 })],
        [
          // Called directly: through tf.grad the forward kernel would refuse first.
          ElementwiseAttentionBackward,
          () =>
            tf
              .engine()
              .runKernel(
                ElementwiseAttentionBackward,
                { ...backwardInputs, dFinalS: zeros, dFinalZ: zeros },
                { order: 2, causal: false },
              ),
        ],
        [
          ElementwiseAttentionStep,
          () => elementwiseAttentionStep(token(q), token(k), token(v), state, { order: 2 }),
        ],
      ];
      const expected = (kernel: string) =>
        expect.objectContaining({
          message: expect.stringMatching(
            new RegExp(`^${kernel} \\(@elementwise/backend-webgl\\): tfjs flag ${flag}`),
          ),
        });
      pretend(flag, value);
      for (const [kernel, call] of calls) {
        let thrown: unknown;
        try {
          tf.tidy(() => {
            call();
          });
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toEqual(expected(kernel));
        expect((thrown as Error).message).toContain(renderer);
      }
      tf.dispose([mask, zeros, q, k, v, state.s, state.z]);
      expect(usage()).toEqual(before);
    },
  );
});

describe('registration', () => {
  it('registers the three kernels for webgl; unregistering restores the composite', async () => {
    const names = [
      ElementwiseAttentionForward,
      ElementwiseAttentionBackward,
      ElementwiseAttentionStep,
    ];
    for (const name of names) expect(tf.getKernel(name, 'webgl')).toBeDefined();
    expect(kernelConfigs.map((c) => c.kernelName)).toEqual(names);
    const { q, k, v } = inputs(17, 3);
    const fused = elementwiseAttention(q, k, v, { order: 4, causal: true });
    unregisterWebGLKernels();
    try {
      for (const name of names) expect(tf.getKernel(name, 'webgl')).toBeUndefined();
      const composite = elementwiseAttention(q, k, v, { order: 4, causal: true });
      const [a, b] = await Promise.all([fused.data(), composite.data()]);
      const difference = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
      expect(difference).toBeLessThan(1e-5);
      composite.dispose();
    } finally {
      registerWebGLKernels();
      tf.dispose([fused, q, k, v]);
    }
    for (const name of names) expect(tf.getKernel(name, 'webgl')).toBeDefined();
  });
});
