import '@tensorflow/tfjs-backend-webgpu';
import {
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
  elementwiseAttention,
  elementwiseAttentionStep,
} from '@elementwise/attention';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelConfigs, registerWebGPUKernels } from '../src/index.js';
import { ElementwiseAttentionProgram, FLAT_MAIN } from '../src/programs/program.js';
import { watchDeviceErrors } from './device_errors.js';
import { webgpuOutputPoisoner } from './nan_poisoner.js';
import { randomInputs } from './oracle_inputs.js';

const deviceErrors = watchDeviceErrors();

beforeAll(async () => {
  registerWebGPUKernels();
  await deviceErrors.start();
});

const backend = () => tf.backend() as unknown as WebGPUBackend;

describe('registration', () => {
  it('registers the three contract kernels for webgpu, once', () => {
    registerWebGPUKernels();
    for (const name of [
      ElementwiseAttentionForward,
      ElementwiseAttentionBackward,
      ElementwiseAttentionStep,
    ]) {
      expect(tf.getKernel(name, 'webgpu')?.kernelFunc).toBe(
        kernelConfigs.find((config) => config.kernelName === name)?.kernelFunc,
      );
    }
  });
});

describe('memory', () => {
  const [batch, length, channels] = [2, 40, 5];
  const { q, k, v } = randomInputs(batch, length, length, channels, 5);
  const shape: [number, number, number] = [batch, length, channels];

  const expectNoLeak = async (work: () => Promise<void>) => {
    const tensors = tf.memory().numTensors;
    const dataIds = backend().numDataIds();
    await work();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend().numDataIds()).toBe(dataIds);
  };

  for (const order of [6, 'exact'] as const) {
    for (const causal of [false, true]) {
      it(`forward and gradients (order ${order}, causal ${causal}) release every intermediate`, async () => {
        const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor3d(x, shape));
        await expectNoLeak(async () => {
          const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(elementwiseAttention(a, b, c, { order, causal }));
          const results = tf.tidy(() => [
            elementwiseAttention(qt, kt, vt, { order, causal }),
            ...tf.grads(loss)([qt, kt, vt]),
          ]);
          await Promise.all(results.map((t) => t.data()));
          tf.dispose(results);
        });
        tf.dispose([qt, kt, vt]);
      });
    }
  }

  it('a loop of recurrent steps releases every intermediate', async () => {
    const rows = [q, k, v].map((x) => tf.tensor3d(x, shape));
    await expectNoLeak(async () => {
      let state = {
        s: tf.zeros([batch, 7, channels]),
        z: tf.zeros([batch, 7, channels]),
      };
      for (let i = 0; i < 10; i++) {
        const [qi, ki, vi] = rows.map((x) =>
          tf.tidy(() => tf.squeeze(tf.slice(x, [0, i, 0], [batch, 1, channels]), [1])),
        );
        const { y, state: next } = elementwiseAttentionStep(qi, ki, vi, state, { order: 6 });
        await y.data();
        tf.dispose([qi, ki, vi, y, state.s, state.z]);
        state = next;
      }
      tf.dispose([state.s, state.z]);
    });
    tf.dispose(rows);
  });
});

describe('NaN poisoning used by the conformance tests', () => {
  it('an output element a program never writes reads back as NaN', async () => {
    // Writes the first half of its output only. (Every binding must be used, uniforms
    // included: WebGPU drops unused ones from the pipeline layout.)
    const writesHalf = new ElementwiseAttentionProgram({
      key: 'test_writes_half',
      variableNames: ['x'],
      outputShape: [8],
      workgroupSize: 64,
      launch: { threads: 8 },
      code: `${FLAT_MAIN} { if (index < uniforms.xShape / 2) { result[index] = x[index]; } }`,
    });
    const input = tf.ones([8]);
    const stop = webgpuOutputPoisoner.install(tf.backend());
    try {
      const info = backend().runWebGPUProgram(writesHalf, [input], 'float32');
      const output = tf.engine().makeTensorFromTensorInfo(info);
      const values = Array.from(await output.data());
      output.dispose();
      expect(values.slice(0, 4)).toEqual([1, 1, 1, 1]);
      expect(values.slice(4).every(Number.isNaN)).toBe(true);
    } finally {
      stop();
      input.dispose();
    }
  });
});
