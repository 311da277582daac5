import { eaForward, groupedForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElementwiseSelfAttention } from '../src/attention/elementwise_self_attention.js';
import { SoftmaxSelfAttention } from '../src/attention/softmax_self_attention.js';
import { ParameterStore } from '../src/parameters.js';
import { SeededRandom } from '../src/random.js';
import { relativeError, useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const PAPER_BLOCK = { shortConv: 0, outputGate: false };
const eaConfig = (order: number, qkBound = 0, groupSize = 1) => ({
  kind: 'ea' as const,
  order,
  qkNorm: 'none' as const,
  qkBound,
  groupSize,
});

const random = (size: number, seed: number, scale = 0.8) => {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: size }, () => r.nextNormal() * scale);
};

/** x [rows, n] · W [n, m] + b in float64. */
const affine = (x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, n: number) => {
  const m = b.length;
  const rows = x.length / n;
  const y = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < m; j++) {
      let sum = b[j];
      for (let i = 0; i < n; i++) sum += x[r * n + i] * w[i * m + j];
      y[r * m + j] = sum;
    }
  }
  return y;
};
/**
 * The values of the tensor `compute` builds, read after its tidy: a typed array returned from
 * tf.tidy is walked element by element.
 */
const readOutside = (compute: () => tf.Tensor) => {
  const tensor = tf.tidy(compute);
  const values = tensor.dataSync();
  tensor.dispose();
  return values;
};
const silu = (x: number) => x / (1 + Math.exp(-x));

/** Float64 softmax attention per slice n of [N, L, d] (causal or not). */
function softmaxReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  n: number,
  length: number,
  d: number,
  causal: boolean,
): Float64Array {
  const y = new Float64Array(n * length * d);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < length; i++) {
      const visible = causal ? i + 1 : length;
      const scores = Array.from({ length: visible }, (_, j) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(b * length + i) * d + c] * k[(b * length + j) * d + c];
        return s / Math.sqrt(d);
      });
      const top = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - top));
      const total = weights.reduce((a, w) => a + w, 0);
      for (let c = 0; c < d; c++) {
        let sum = 0;
        for (let j = 0; j < visible; j++) sum += weights[j] * v[(b * length + j) * d + c];
        y[(b * length + i) * d + c] = sum / total;
      }
    }
  }
  return y;
}

describe('the attention modules of a block', () => {
  it('ElementwiseSelfAttention = EA (float64 oracle) between its own projections', () => {
    const [batch, length, dModel] = [2, 9, 6];
    const store = new ParameterStore(new SeededRandom(1));
    const attention = new ElementwiseSelfAttention(
      store,
      'a',
      dModel,
      eaConfig(4),
      true,
      PAPER_BLOCK,
    );
    const x = random(batch * length * dModel, 5);
    const project = (name: string) =>
      tf.tidy(() => {
        const w = store.get(`a/${name}/kernel`);
        const b = store.get(`a/${name}/bias`);
        return tf
          .add(tf.matMul(tf.tensor2d(x, [batch * length, dModel]), w), b)
          .dataSync() as Float32Array;
      });
    const dims = { batch, queryLength: length, keyLength: length, channels: dModel };
    const ea = eaForward(
      { q: project('query'), k: project('key'), v: project('value'), dims },
      { order: 4, causal: true },
    ).y;
    const expected = readOutside(() =>
      tf.add(
        tf.matMul(
          tf.tensor2d(Float32Array.from(ea), [batch * length, dModel]),
          store.get('a/output/kernel'),
        ),
        store.get('a/output/bias'),
      ),
    );
    const got = readOutside(() => attention.apply(tf.tensor3d(x, [batch, length, dModel])));
    expect(relativeError(expected, got)).toBeLessThan(1e-5);
    store.dispose();
  });

  it('groupSize d hands its projections to grouped EA (float64 oracle)', () => {
    const [batch, length, dModel, groupSize] = [2, 7, 6, 3];
    const store = new ParameterStore(new SeededRandom(4));
    const attention = new ElementwiseSelfAttention(
      store,
      'a',
      dModel,
      eaConfig(2, 0, groupSize),
      true,
      PAPER_BLOCK,
    );
    const x = random(batch * length * dModel, 9);
    const read = (name: string) => store.get(`a/${name}`).dataSync();
    const project = (name: string) =>
      affine(x, read(`${name}/kernel`), read(`${name}/bias`), dModel);
    const dims = { batch, queryLength: length, keyLength: length, channels: dModel };
    const ea = groupedForward(
      { q: project('query'), k: project('key'), v: project('value'), dims },
      { order: 2, groupSize, causal: true },
    ).y;
    const expected = affine(ea, read('output/kernel'), read('output/bias'), dModel);
    const got = readOutside(() => attention.apply(tf.tensor3d(x, [batch, length, dModel])));
    expect(relativeError(expected, got)).toBeLessThan(1e-5);
    store.dispose();
  });

  it('qkBound b hands EA b·tanh(q / b) and b·tanh(k / b), so |2qk| < 2b²', () => {
    const [batch, length, dModel, bound] = [1, 6, 5, 0.7];
    const store = new ParameterStore(new SeededRandom(3));
    const attention = new ElementwiseSelfAttention(
      store,
      'a',
      dModel,
      eaConfig(6, bound),
      true,
      PAPER_BLOCK,
    );
    // Large inputs, so the bound is far from the identity.
    const x = random(batch * length * dModel, 7, 4);
    const read = (name: string) => store.get(`a/${name}`).dataSync();
    const project = (name: string, squash: boolean) =>
      affine(x, read(`${name}/kernel`), read(`${name}/bias`), dModel).map((value) =>
        squash ? bound * Math.tanh(value / bound) : value,
      );
    const [q, k] = [project('query', true), project('key', true)];
    expect(Math.max(...q.map(Math.abs), ...k.map(Math.abs))).toBeLessThan(bound);
    const dims = { batch, queryLength: length, keyLength: length, channels: dModel };
    const ea = eaForward({ q, k, v: project('value', false), dims }, { order: 6, causal: true }).y;
    const expected = affine(ea, read('output/kernel'), read('output/bias'), dModel);
    const got = readOutside(() => attention.apply(tf.tensor3d(x, [batch, length, dModel])));
    expect(relativeError(expected, got)).toBeLessThan(1e-5);
    store.dispose();
  });

  it('SoftmaxSelfAttention heads = per-head softmax attention (float64 reference)', () => {
    const [batch, length, dModel, heads] = [2, 5, 8, 2];
    const store = new ParameterStore(new SeededRandom(2));
    const attention = new SoftmaxSelfAttention(store, 'a', dModel, heads, true, PAPER_BLOCK);
    const x = random(batch * length * dModel, 6);
    const project = (name: string) =>
      tf.tidy(() => {
        const p = tf.add(
          tf.matMul(tf.tensor2d(x, [batch * length, dModel]), store.get(`a/${name}/kernel`)),
          store.get(`a/${name}/bias`),
        );
        // [B, L, H, dh] → [B·H, L, dh]
        return tf
          .transpose(tf.reshape(p, [batch, length, heads, dModel / heads]), [0, 2, 1, 3])
          .dataSync() as Float32Array;
      });
    const attended = softmaxReference(
      project('query'),
      project('key'),
      project('value'),
      batch * heads,
      length,
      dModel / heads,
      true,
    );
    const expected = tf.tidy(() => {
      const merged = tf.reshape(
        tf.transpose(
          tf.tensor4d(Float32Array.from(attended), [batch, heads, length, dModel / heads]),
          [0, 2, 1, 3],
        ),
        [batch * length, dModel],
      );
      return tf
        .add(tf.matMul(merged, store.get('a/output/kernel')), store.get('a/output/bias'))
        .dataSync();
    });
    const got = readOutside(() => attention.apply(tf.tensor3d(x, [batch, length, dModel])));
    expect(relativeError(expected, got)).toBeLessThan(1e-5);
    store.dispose();
  });
});

describe('short convolution and output gate around EA', () => {
  it('equals the float64 reference: causal silu(conv(x W + b)) into EA, gated by silu(x Wg + bg)', () => {
    const [batch, length, dModel, size] = [2, 7, 4, 3];
    const store = new ParameterStore(new SeededRandom(11));
    const options = { shortConv: size, outputGate: true };
    const attention = new ElementwiseSelfAttention(store, 'a', dModel, eaConfig(6), true, options);
    const x = random(batch * length * dModel, 12);
    const read = (name: string) => store.get(`a/${name}`).dataSync();
    const convolved = (role: string) => {
      const p = affine(x, read(`${role}/kernel`), read(`${role}/bias`), dModel);
      const w = read(`${role}_conv/kernel`);
      const bias = read(`${role}_conv/bias`);
      const y = new Float64Array(p.length);
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < length; t++) {
          for (let c = 0; c < dModel; c++) {
            let sum = bias[c];
            for (let i = 0; i < size; i++) {
              const source = t - size + 1 + i;
              if (source >= 0) sum += w[i * dModel + c] * p[(b * length + source) * dModel + c];
            }
            y[(b * length + t) * dModel + c] = silu(sum);
          }
        }
      }
      return y;
    };
    const dims = { batch, queryLength: length, keyLength: length, channels: dModel };
    const ea = eaForward(
      { q: convolved('query'), k: convolved('key'), v: convolved('value'), dims },
      { order: 6, causal: true },
    ).y;
    const gate = affine(x, read('gate/kernel'), read('gate/bias'), dModel);
    const gated = Float64Array.from(ea, (value, i) => value * silu(gate[i]));
    const expected = affine(gated, read('output/kernel'), read('output/bias'), dModel);
    const got = readOutside(() => attention.apply(tf.tensor3d(x, [batch, length, dModel])));
    expect(relativeError(expected, got)).toBeLessThan(1e-5);
    expect(store.names().filter((n) => n.includes('_conv/'))).toHaveLength(6);
    store.dispose();
  });

  it('has gradients equal to central differences for every new parameter', () => {
    const [batch, length, dModel] = [1, 5, 4];
    const store = new ParameterStore(new SeededRandom(13));
    const attention = new ElementwiseSelfAttention(store, 'a', dModel, eaConfig(4), true, {
      shortConv: 2,
      outputGate: true,
    });
    const x = tf.tensor3d(random(batch * length * dModel, 14), [batch, length, dModel]);
    const names = ['a/key_conv/kernel', 'a/value_conv/bias', 'a/gate/kernel'];
    const loss = () => tf.sum(tf.square(attention.apply(x)));
    const { grads } = tf.variableGrads(
      loss as () => tf.Scalar,
      names.map((n) => store.get(n)),
    );
    for (const name of names) {
      const variable = store.get(name);
      const analytic = grads[variable.name].dataSync();
      const values = variable.dataSync().slice();
      const h = 1e-2;
      const numeric = Float64Array.from(values, (value, i) => {
        const at = (delta: number) => {
          const shifted = values.slice();
          shifted[i] = value + delta;
          variable.assign(tf.tensor(shifted, variable.shape));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const difference = (at(h) - at(-h)) / (2 * h);
        variable.assign(tf.tensor(values, variable.shape));
        return difference;
      });
      expect(relativeError(numeric, analytic), name).toBeLessThan(2e-2);
    }
    tf.dispose([x, ...Object.values(grads)]);
    store.dispose();
  });
});
