import {
  ElementwiseAttentionGroupedStep,
  elementwiseAttentionStep,
  groupFeatureCount,
  zeroState,
} from '@elementwise/attention';
import { centralDifferenceGradient, groupedStep, randomNormal } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectClose, useBackend, weightedSum } from './helpers.js';

/** Kernel names a computation ran, from `tf.profile`; its tensors are disposed. */
async function kernelsRun(f: () => tf.Tensor[]): Promise<Set<string>> {
  const profile = await tf.profile(f);
  tf.dispose(profile.result as tf.Tensor[]);
  return new Set(profile.kernels.map((kernel) => kernel.name));
}

/** Reads tensors after the tidy that made them, then disposes them. */
function readAndDispose(tensors: tf.Tensor[]): Float32Array[] {
  const values = tensors.map((x) => x.dataSync() as Float32Array);
  tf.dispose(tensors);
  return values;
}

describe.each(BACKENDS)('the fused grouped step on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  for (const [order, groupSize, channels] of [
    [2, 3, 6],
    [6, 8, 16],
  ] as const) {
    it(`runs for generation steps and matches the oracle over 6 steps (order ${order}, groupSize ${groupSize}, D = ${channels})`, async () => {
      const batch = 2;
      const features = groupFeatureCount(groupSize, order);
      let state = zeroState(order, batch, channels, groupSize);
      let before: { s: ArrayLike<number>; z: ArrayLike<number> } = {
        s: new Float32Array(batch * features * channels),
        z: new Float32Array((batch * features * channels) / groupSize),
      };
      for (let i = 0; i < 6; i++) {
        const [q, k, v] = [1, 2, 3].map((seed) =>
          randomNormal(batch * channels, seed + 10 * i, 0.8),
        );
        const tensors = [q, k, v].map((x) => tf.tensor2d(x, [batch, channels]));
        const step = elementwiseAttentionStep(tensors[0], tensors[1], tensors[2], state, {
          order,
          groupSize,
        });
        const reference = groupedStep(q, k, v, before, { order, groupSize, batch, channels });
        const [y, s, z] = readAndDispose([step.y, step.state.s.clone(), step.state.z.clone()]);
        expectClose(y, reference.y, `y at step ${i}`);
        expectClose(s, reference.state.s, `s at step ${i}`);
        expectClose(z, reference.state.z, `z at step ${i}`);
        tf.dispose([...tensors, state.s, state.z]);
        state = step.state;
        before = { s, z };
      }
      const kernels = await kernelsRun(() => {
        const x = tf.ones([batch, channels]);
        const step = elementwiseAttentionStep(x, x, x, state, { order, groupSize });
        return [x, step.y, step.state.s, step.state.z];
      });
      expect(kernels).toContain(ElementwiseAttentionGroupedStep);
      // The composite would show up as tfjs kernels such as Exp.
      expect(kernels).not.toContain('Exp');
      tf.dispose([state.s, state.z]);
    });
  }

  it('under tf.grads runs the composite, whose gradients match the oracle (q, k, v and the state)', async () => {
    const [batch, channels, groupSize, order] = [1, 4, 2, 2];
    const features = groupFeatureCount(groupSize, order);
    const stateSize = batch * features * channels;
    const data = {
      q: randomNormal(batch * channels, 1, 0.8),
      k: randomNormal(batch * channels, 2, 0.8),
      v: randomNormal(batch * channels, 3, 0.8),
      s: randomNormal(stateSize, 4, 0.3),
      z: randomNormal(stateSize / groupSize, 5, 0.3).map((x) => 1 + Math.abs(x)),
    };
    const cotangents = {
      y: randomNormal(batch * channels, 6, 1),
      s: randomNormal(stateSize, 7, 1),
      z: randomNormal(stateSize / groupSize, 8, 1),
    };
    const shapes = {
      vector: [batch, channels],
      s: [batch, features, channels],
      z: [batch, features, channels / groupSize],
    };
    const inputs = () => [
      tf.tensor(data.q, shapes.vector),
      tf.tensor(data.k, shapes.vector),
      tf.tensor(data.v, shapes.vector),
      tf.tensor(data.s, shapes.s),
      tf.tensor(data.z, shapes.z),
    ];
    const loss = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, s: tf.Tensor, z: tf.Tensor) => {
      const step = elementwiseAttentionStep(q, k, v, { s, z }, { order, groupSize });
      return weightedSum([
        [step.y, tf.tensor(cotangents.y, shapes.vector)],
        [step.state.s, tf.tensor(cotangents.s, shapes.s)],
        [step.state.z, tf.tensor(cotangents.z, shapes.z)],
      ]);
    };
    const before = tf.memory().numTensors;
    const grads = readAndDispose(tf.tidy(() => tf.grads(loss)(inputs())));
    expect(tf.memory().numTensors).toBe(before);
    const kernels = await kernelsRun(() => tf.grads(loss)(inputs()));
    expect(kernels).not.toContain(ElementwiseAttentionGroupedStep);

    const names = ['q', 'k', 'v', 's', 'z'] as const;
    const oracleLoss = (values: Record<(typeof names)[number], Float64Array>) => {
      const out = groupedStep(values.q, values.k, values.v, values, {
        order,
        groupSize,
        batch,
        channels,
      });
      let sum = 0;
      out.y.forEach((x, i) => {
        sum += x * cotangents.y[i];
      });
      out.state.s.forEach((x, i) => {
        sum += x * cotangents.s[i];
      });
      out.state.z.forEach((x, i) => {
        sum += x * cotangents.z[i];
      });
      return sum;
    };
    const point = Object.fromEntries(names.map((n) => [n, Float64Array.from(data[n])])) as Record<
      (typeof names)[number],
      Float64Array
    >;
    names.forEach((name, i) => {
      const reference = centralDifferenceGradient(
        (x) => oracleLoss({ ...point, [name]: x }),
        point[name],
      );
      expectClose(grads[i], reference, `d${name}`, 1e-4);
    });
  });

  it('leaves huge values to the composite, which scales them, and matches the oracle', async () => {
    const [batch, channels, groupSize, order] = [1, 6, 3, 2];
    const features = groupFeatureCount(groupSize, order);
    const q = randomNormal(channels, 1, 0.8);
    const k = randomNormal(channels, 2, 0.8);
    const v = randomNormal(channels, 3, 1).map((x) => x * 1e37);
    const s = new Float32Array(features * channels);
    const z = new Float32Array((features * channels) / groupSize);
    const run = () => {
      const step = elementwiseAttentionStep(
        tf.tensor2d(q, [batch, channels]),
        tf.tensor2d(k, [batch, channels]),
        tf.tensor2d(v, [batch, channels]),
        { s: tf.tensor3d(s, [batch, features, channels]), z: tf.tensor3d(z, [batch, features, 2]) },
        { order, groupSize },
      );
      return [step.y, step.state.s, step.state.z];
    };
    const [y] = readAndDispose(tf.tidy(run));
    const reference = groupedStep(q, k, v, { s, z }, { order, groupSize, batch, channels });
    expectClose(y, reference.y, 'y');
    expect(await kernelsRun(run)).not.toContain(ElementwiseAttentionGroupedStep);
  });

  it('lets a NaN input propagate to its group, like the composite, and leaves other groups finite', () => {
    const [channels, groupSize, order] = [6, 3, 2];
    const q = randomNormal(channels, 1, 0.8);
    q[1] = Number.NaN;
    const x = tf.tensor2d(q, [1, channels]);
    const state = zeroState(order, 1, channels, groupSize);
    const step = elementwiseAttentionStep(x, x, x, state, { order, groupSize });
    const [y] = readAndDispose([step.y, step.state.s, step.state.z]);
    expect(Array.from(y.slice(0, 3), Number.isNaN)).toEqual([true, true, true]);
    expect(Array.from(y.slice(3), Number.isFinite)).toEqual([true, true, true]);
    tf.dispose([x, state.s, state.z]);
  });

  it('refuses a call that breaks the contract, naming the input', () => {
    const x = tf.ones([1, 6]);
    const features = groupFeatureCount(3, 2);
    const s = tf.zeros([1, features, 6]);
    const z = tf.zeros([1, features, 2]);
    const call =
      (attrs: Record<string, unknown>, zz = z) =>
      () =>
        tf
          .engine()
          .runKernel(
            ElementwiseAttentionGroupedStep,
            { q: x, k: x, v: x, s, z: zz },
            attrs as never,
          );
    expect(call({ order: 2, groupSize: 4 })).toThrow(
      'ElementwiseAttentionGroupedStep: groupSize must be an integer >= 2 that divides D = 6, got 4',
    );
    expect(call({ order: 2, groupSize: 3 }, s)).toThrow(
      `ElementwiseAttentionGroupedStep: z must have shape [1, ${features}, 2], got [1, ${features}, 6]`,
    );
    expect(call({ order: 'exact', groupSize: 3 })).toThrow("order 'exact' has no recurrent form");
    tf.dispose([x, s, z]);
  });
});
