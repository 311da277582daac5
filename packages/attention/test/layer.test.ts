import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElementwiseAttention } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

/** Row-major [n, a] × [a, b] in float64. */
function matmul(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  n: number,
  a: number,
  b: number,
  transposeW = false,
) {
  const out = new Float64Array(n * b);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < b; j++) {
      let sum = 0;
      for (let p = 0; p < a; p++) sum += x[i * a + p] * (transposeW ? w[j * a + p] : w[p * b + j]);
      out[i * b + j] = sum;
    }
  return out;
}
const transpose = (x: ArrayLike<number>, rows: number, cols: number) => {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
};
const addBias = (x: Float64Array, bias: ArrayLike<number>) =>
  x.map((value, i) => value + bias[i % bias.length]);
const columnSums = (x: ArrayLike<number>, rows: number, cols: number) => {
  const out = new Float64Array(cols);
  for (let i = 0; i < rows * cols; i++) out[i % cols] += x[i];
  return out;
};

describe.each(BACKENDS)('ElementwiseAttention layer on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  let layers = 0;
  const name = () => `${backend}_layer_${layers++}`;

  it('prefill then step equals the causal apply on the full sequence', () => {
    const [batch, length, dModel, prompt] = [2, 12, 8, 5];
    const layer = new ElementwiseAttention({
      dModel,
      order: 6,
      causal: true,
      seed: 3,
      name: name(),
    });
    const x = randomNormal([batch, length, dModel], 1);
    const start = tf.memory().numTensors;
    const full = layer.apply(x);
    let { y: prefix, state } = tf.tidy(() =>
      layer.prefill(tf.slice(x, [0, 0, 0], [batch, prompt, dModel])),
    );
    const ys = [prefix];
    for (let i = prompt; i < length; i++) {
      const xt = tf.tidy(() => tf.squeeze(tf.slice(x, [0, i, 0], [batch, 1, dModel]), [1]));
      const next = layer.step(xt, state);
      tf.dispose([xt, state.s, state.z]);
      state = next.state;
      ys.push(tf.expandDims(next.y, 1));
      next.y.dispose();
    }
    const generated = tf.concat(ys, 1);
    expectClose(generated, full.dataSync(), 1e-5, 'prefill + step vs apply');
    tf.dispose([...ys, generated, full, state.s, state.z]);
    expect(tf.memory().numTensors).toBe(start);
    x.dispose();
    layer.dispose();
  });

  it('prefill in chunks with a carried state equals one prefill', () => {
    const layer = new ElementwiseAttention({
      dModel: 4,
      order: 4,
      causal: true,
      seed: 1,
      name: name(),
    });
    const x = randomNormal([1, 9, 4], 2);
    const start = tf.memory().numTensors;
    const whole = layer.prefill(x);
    const chunked = tf.tidy(() => {
      const first = layer.prefill(tf.slice(x, [0, 0, 0], [1, 4, 4]));
      const second = layer.prefill(tf.slice(x, [0, 4, 0], [1, 5, 4]), { state: first.state });
      return { y: tf.concat([first.y, second.y], 1), s: second.state.s };
    });
    expectClose(chunked.y, whole.y.dataSync(), 1e-5, 'y');
    expectClose(chunked.s, whole.state.s.dataSync(), 1e-6, 'state');
    tf.dispose([whole.y, whole.state.s, whole.state.z, chunked.y, chunked.s]);
    expect(tf.memory().numTensors).toBe(start);
    x.dispose();
    layer.dispose();
  });

  it.each([false, true])(
    'tf.variableGrads of every weight match the float64 chain rule (causal: %s)',
    (causal) => {
      const [batch, length, dModel, order] = [2, 5, 3, 4];
      const layer = new ElementwiseAttention({ dModel, order, causal, seed: 7, name: name() });
      tf.tidy(() => {
        for (const w of layer.trainableWeights)
          if (w.shape.length === 1) w.assign(randomNormal(w.shape, w.shape[0] + 3, 0.1));
      });
      const x = randomNormal([batch, length, dModel], 4);
      const cotangent = randomNormal([batch, length, dModel], 5);
      const start = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x), cotangent)) as tf.Scalar,
      );

      const rows = batch * length;
      const w = Object.fromEntries(
        Object.entries(layer.getWeights()).map(([n, t]) => [
          n.split('/').slice(1).join('/'),
          t.dataSync(),
        ]),
      );
      const xs = x.dataSync();
      const [q, k, v] = ['query', 'key', 'value'].map((p) =>
        addBias(matmul(xs, w[`${p}/kernel`], rows, dModel, dModel), w[`${p}/bias`]),
      );
      const dims = { batch, queryLength: length, keyLength: length, channels: dModel };
      const attended = eaForward({ q, k, v, dims }, { order, causal }).y;
      const c = cotangent.dataSync();
      const dAttended = matmul(c, w['output/kernel'], rows, dModel, dModel, true);
      const { dq, dk, dv } = eaBackward({ q, k, v, dims }, dAttended, { order, causal });
      const xT = transpose(xs, rows, dModel);
      const expected: Record<string, Float64Array> = {
        'output/kernel': matmul(transpose(attended, rows, dModel), c, dModel, rows, dModel),
        'output/bias': columnSums(c, rows, dModel),
      };
      for (const [p, d] of [
        ['query', dq],
        ['key', dk],
        ['value', dv],
      ] as const) {
        expected[`${p}/kernel`] = matmul(xT, d, dModel, rows, dModel);
        expected[`${p}/bias`] = columnSums(d, rows, dModel);
      }
      for (const [full, grad] of Object.entries(grads)) {
        const short = full.split('/').slice(1).join('/');
        expectClose(grad, expected[short], 1e-5, `gradient of ${short}`);
      }
      expect(Object.keys(grads)).toHaveLength(8);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(start);
      tf.dispose([x, cotangent]);
      layer.dispose();
    },
  );

  it('getWeights/setWeights round-trips, and the same seed gives the same weights', () => {
    const a = new ElementwiseAttention({ dModel: 4, seed: 42, name: name() });
    const twin = new ElementwiseAttention({ dModel: 4, seed: 42, name: name() });
    const b = new ElementwiseAttention({ dModel: 4, seed: 99, name: name() });
    const c = new ElementwiseAttention({ dModel: 4, seed: 43, name: name(), useBias: false });
    const strip = (m: tf.NamedTensorMap) =>
      Object.fromEntries(
        Object.entries(m).map(([n, t]) => [
          n.split('/').slice(1).join('/'),
          Array.from(t.dataSync()),
        ]),
      );
    expect(strip(a.getWeights())).toEqual(strip(twin.getWeights()));
    expect(strip(a.getWeights())).not.toEqual(strip(b.getWeights()));
    expect(Object.keys(c.getWeights())).toHaveLength(4);
    const x = randomNormal([1, 3, 4], 9);
    const before = tf.memory().numTensors;
    const renamed = (from: ElementwiseAttention, to: ElementwiseAttention) =>
      Object.fromEntries(
        Object.entries(from.getWeights()).map(([n, t]) => [n.replace(from.name, to.name), t]),
      );
    b.setWeights(renamed(a, b));
    expect(strip(b.getWeights())).toEqual(strip(twin.getWeights()));
    const [ya, yb] = [a.apply(x), b.apply(x)];
    expectClose(yb, ya.dataSync(), 0, 'same weights, same output');
    tf.dispose([ya, yb]);
    expect(tf.memory().numTensors).toBe(before);
    for (const layer of [a, twin, b, c]) layer.dispose();
    x.dispose();
  });

  it('dispose releases every variable', () => {
    const start = tf.memory().numTensors;
    const layer = new ElementwiseAttention({ dModel: 6, name: name() });
    expect(tf.memory().numTensors).toBe(start + 8);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
