import {
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionGroupedStep,
  ElementwiseAttentionStep,
  elementwiseAttention,
  elementwiseAttentionStep,
} from '@elementwise/attention';
import { eaBackward, eaForward, eaStep, eaStepBackward, randomNormal } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  kernelConfigs,
  kernelImplementation,
  registerCpuKernels,
  setSimdEnabled,
} from '../src/index.js';
import { BACKENDS, expectClose, useBackend, weightedSum } from './helpers.js';

const KERNELS = [
  ElementwiseAttentionForward,
  ElementwiseAttentionBackward,
  ElementwiseAttentionStep,
];

describe('registration', () => {
  it('registers every kernel for cpu and wasm on import, and again harmlessly', () => {
    for (const backend of BACKENDS) {
      for (const name of [...KERNELS, ElementwiseAttentionGroupedStep])
        expect(tf.getKernel(name, backend), `${name} on ${backend}`).toBeDefined();
    }
    expect(kernelConfigs).toHaveLength(8);
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      registerCpuKernels();
    } finally {
      console.warn = warn;
    }
    expect(warnings).toEqual([]);
  });
});

describe('implementations', () => {
  it('WebAssembly SIMD is selected where available, and can be switched off', () => {
    expect(kernelImplementation()).toBe('wasm-simd');
    setSimdEnabled(false);
    expect(kernelImplementation()).toBe('typescript');
    setSimdEnabled(true);
    expect(kernelImplementation()).toBe('wasm-simd');
  });

  for (const causal of [false, true]) {
    it(`keys over a wide range: both implementations match the oracle and agree to rounding (causal ${causal})`, async () => {
      await useBackend('cpu');
      // |k| up to ~30: many e^{-k²} are tiny, some underflow; odd D exercises the padding.
      const [batch, length, channels, order] = [2, 41, 7, 8];
      const size = batch * length * channels;
      const mask = Float32Array.from({ length: batch * length }, (_, i) => (i % 5 === 3 ? 0 : 1));
      const data = {
        q: randomNormal(size, 1, 2),
        k: randomNormal(size, 2, 8),
        v: randomNormal(size, 3),
        g: randomNormal(size, 4),
      };
      const run = () => {
        const tensors = tf.tidy(() => {
          const shape: [number, number, number] = [batch, length, channels];
          const [q, k, v, g] = [data.q, data.k, data.v, data.g].map((x) => tf.tensor3d(x, shape));
          const m = tf.tensor2d(mask, [batch, length]);
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order, causal, mask: m });
          const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => weightedSum([[f(a, b, c), g]]);
          return [f(q, k, v), ...tf.grads(loss)([q, k, v])];
        });
        const values = tensors.map((x) => x.dataSync() as Float32Array);
        tf.dispose(tensors);
        return values;
      };
      const simd = run();
      setSimdEnabled(false);
      const typescript = run();
      setSimdEnabled(true);
      // Tiny denominators make α = g/M overflow float32: the kernels keep it in float64.
      const dims = { batch, queryLength: length, keyLength: length, channels };
      const inputs = { ...data, mask, dims };
      const grads = eaBackward(inputs, data.g, { order, causal });
      const reference = [eaForward(inputs, { order, causal }).y, grads.dq, grads.dk, grads.dv];
      ['y', 'dq', 'dk', 'dv'].forEach((name, i) => {
        expectClose(typescript[i], reference[i], name);
      });
      // Relative to each value, plus a floor relative to the output's scale for values that
      // are themselves cancellation residue.
      simd.forEach((values, i) => {
        const scale = typescript[i].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        for (let j = 0; j < values.length; j++) {
          const reference = typescript[i][j];
          expect(Number.isFinite(values[j])).toBe(true);
          const bound = 2 ** -22 * Math.abs(reference) + 1e-7 * scale;
          expect(Math.abs(values[j] - reference)).toBeLessThanOrEqual(bound);
        }
      });
    });
  }
});

describe.each(BACKENDS)('fused kernels on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('run for the op, its gradient and the step (tf.profile lists them)', async () => {
    const q = tf.tensor3d(randomNormal(2 * 5 * 3, 1), [2, 5, 3]);
    const k = tf.tensor3d(randomNormal(2 * 5 * 3, 2), [2, 5, 3]);
    const v = tf.tensor3d(randomNormal(2 * 5 * 3, 3), [2, 5, 3]);
    const profile = await tf.profile(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(elementwiseAttention(a, b, c, { order: 4, causal: true })),
      )([q, k, v]);
      const state = { s: tf.zeros([2, 5, 3]), z: tf.zeros([2, 5, 3]) };
      const step = elementwiseAttentionStep(
        tf.ones([2, 3]),
        tf.ones([2, 3]),
        tf.ones([2, 3]),
        state,
        {
          order: 4,
        },
      );
      return [...grads, step.y, step.state.s, step.state.z, state.s, state.z];
    });
    const names = new Set(profile.kernels.map((kernel) => kernel.name));
    for (const name of KERNELS) expect(names, name).toContain(name);
    // No composite fallback ran: it would show up as elementwise tfjs kernels such as Exp.
    expect(names).not.toContain('Exp');
    tf.dispose([q, k, v, ...(profile.result as tf.Tensor[])]);
  });

  for (const order of [0, 2, 6, 8]) {
    it(`step matches the oracle with its gradients (order ${order}, B=3, D=5)`, () => {
      const [batch, channels, terms] = [3, 5, order + 1];
      const q = randomNormal(batch * channels, 1);
      const k = randomNormal(batch * channels, 2);
      const v = randomNormal(batch * channels, 3, 1);
      const s = randomNormal(batch * terms * channels, 4);
      const z = randomNormal(batch * terms * channels, 5, 0.3).map((x, i) =>
        Math.floor(i / channels) % terms === 0 ? 2 + x : x,
      );
      const dy = randomNormal(batch * channels, 6, 1);
      const dS = randomNormal(batch * terms * channels, 7, 1);
      const dZ = randomNormal(batch * terms * channels, 8, 1);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => {
        const vector = (x: Float32Array) => tf.tensor2d(x, [batch, channels]);
        const stateTensor = (x: Float32Array) => tf.tensor3d(x, [batch, terms, channels]);
        const [gy, gs, gz] = [vector(dy), stateTensor(dS), stateTensor(dZ)];
        const run = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, ss: tf.Tensor, zz: tf.Tensor) =>
          elementwiseAttentionStep(a, b, c, { s: ss, z: zz }, { order });
        const inputs = [vector(q), vector(k), vector(v), stateTensor(s), stateTensor(z)] as const;
        const out = run(...inputs);
        const grads = tf.grads(
          (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, ss: tf.Tensor, zz: tf.Tensor) => {
            const r = run(a, b, c, ss, zz);
            return weightedSum([
              [r.y, gy],
              [r.state.s, gs],
              [r.state.z, gz],
            ]);
          },
        )([...inputs]);
        return [out.y, out.state.s, out.state.z, ...grads].map((x) => x.dataSync());
      });
      expect(tf.memory().numTensors).toBe(before);
      const options = { order, batch, channels };
      const reference = eaStep(q, k, v, { s, z }, options);
      const grads = eaStepBackward(q, k, v, { s, z }, dy, { ...options, dState: { s: dS, z: dZ } });
      expectClose(got[0], reference.y, 'y');
      expectClose(got[1], reference.state.s, 's');
      expectClose(got[2], reference.state.z, 'z');
      expectClose(got[3], grads.dq, 'dq');
      expectClose(got[4], grads.dk, 'dk');
      expectClose(got[5], grads.dv, 'dv');
      expectClose(got[6], grads.dState.s, 'ds');
      expectClose(got[7], grads.dState.z, 'dz');
    });
  }

  for (const order of [6, 'exact'] as const) {
    for (const causal of [false, true]) {
      it(`zero denominators give 0 and zero gradients, never NaN (order ${order}, causal ${causal})`, () => {
        // Batch element 0: keys so far out that e^{-k²} underflows (series) / all keys masked
        // (exact); batch element 1: every key masked.
        const [batch, length, channels] = [2, 4, 3];
        const size = batch * length * channels;
        const kValues = randomNormal(size, 2).map((x, i) =>
          order === 'exact' || i >= size / 2 ? x : x + 30,
        );
        const maskValues = Float32Array.from(
          [1, 1, 1, 1, 0, 0, 0, 0].map((m) => (order === 'exact' ? 0 : m)),
        );
        const values = tf.tidy(() => {
          const q = tf.tensor3d(randomNormal(size, 1), [batch, length, channels]);
          const k = tf.tensor3d(kValues, [batch, length, channels]);
          const v = tf.tensor3d(randomNormal(size, 3), [batch, length, channels]);
          const mask = tf.tensor2d(maskValues, [batch, length]);
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            elementwiseAttention(a, b, c, { order, causal, mask });
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c)))([
            q,
            k,
            v,
          ]);
          return [f(q, k, v), ...grads].map((x) => Array.from(x.dataSync()));
        });
        for (const list of values) expect(list.every((x) => x === 0)).toBe(true);
      });
    }
  }
});
