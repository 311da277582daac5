import {
  type AttentionInputs,
  centralDifferenceGradient,
  eaBackward,
  eaForward,
  groupedForward,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { type ElementwiseAttentionLayer, elementwiseAttentionLayer } from '../src/index.js';
import {
  add64,
  applyToRandomInput,
  columnSums64,
  disposeVariablesAfterEachTest,
  expectClose,
  matmul64,
  matmulTransposedLeft64,
  matmulTransposedRight64,
  PROJECTIONS,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';

interface Case {
  name: string;
  batch: number;
  length: number;
  channels: number;
  order: number | 'exact';
  causal: boolean;
  groupSize?: number;
  useBias?: boolean;
  /** [B, L] of 0/1, passed as `apply(x, {mask})`. */
  mask?: number[][];
}

const CASES: Case[] = [
  { name: 'order 6, non-causal', batch: 2, length: 5, channels: 6, order: 6, causal: false },
  {
    name: 'order 2, causal, padding mask',
    batch: 2,
    length: 5,
    channels: 5,
    order: 2,
    causal: true,
    mask: [
      [1, 1, 1, 0, 0],
      [0, 0, 1, 1, 1],
    ],
  },
  {
    name: "order 'exact', non-causal, padding mask",
    batch: 2,
    length: 4,
    channels: 3,
    order: 'exact',
    causal: false,
    mask: [
      [1, 1, 0, 1],
      [1, 0, 0, 0],
    ],
  },
  { name: 'order 0, causal, L = 1', batch: 3, length: 1, channels: 4, order: 0, causal: true },
  {
    name: 'order 8, causal, no bias',
    batch: 1,
    length: 7,
    channels: 3,
    order: 8,
    causal: true,
    useBias: false,
  },
  {
    name: 'groupSize 2, order 2, causal',
    batch: 2,
    length: 4,
    channels: 4,
    order: 2,
    causal: true,
    groupSize: 2,
  },
  {
    name: 'groupSize 3, order 4, non-causal, padding mask',
    batch: 1,
    length: 5,
    channels: 6,
    order: 4,
    causal: false,
    groupSize: 3,
    mask: [[1, 0, 1, 1, 0]],
  },
];

/** The layer in float64 from its own float32 weights: projections, EA, output projection. */
function reference(c: Case, x: Float32Array, w: Record<string, Float32Array>) {
  const rows = c.batch * c.length;
  const d = c.channels;
  const bias = (p: string) => (c.useBias === false ? null : w[`${p}/bias`]);
  const [q, k, v] = (['query', 'key', 'value'] as const).map((p) =>
    matmul64(x, rows, d, w[`${p}/kernel`], d, bias(p)),
  );
  const inputs: AttentionInputs = {
    q,
    k,
    v,
    dims: { batch: c.batch, queryLength: c.length, keyLength: c.length, channels: d },
    ...(c.mask ? { mask: c.mask.flat() } : {}),
  };
  const groupSize = c.groupSize ?? 1;
  const attend = (at: AttentionInputs) =>
    groupSize === 1
      ? eaForward(at, { order: c.order, causal: c.causal }).y
      : groupedForward(at, { order: c.order, causal: c.causal, groupSize }).y;
  const a = attend(inputs);
  const y = matmul64(a, rows, d, w['output/kernel'], d, bias('output'));

  /** Gradients of Σ y ⊙ r by the chain rule through the oracle's backward (or differences). */
  const gradients = (r: Float32Array): Record<string, Float64Array> => {
    const da = matmulTransposedRight64(r, w['output/kernel'], rows, d, d);
    let dq: Float64Array;
    let dk: Float64Array;
    let dv: Float64Array;
    if (groupSize === 1) {
      ({ dq, dk, dv } = eaBackward(inputs, da, { order: c.order, causal: c.causal }));
    } else {
      const n = rows * d;
      const qkv = new Float64Array(3 * n);
      qkv.set(q, 0);
      qkv.set(k, n);
      qkv.set(v, 2 * n);
      const loss = (point: Float64Array) => {
        const out = attend({
          ...inputs,
          q: point.subarray(0, n),
          k: point.subarray(n, 2 * n),
          v: point.subarray(2 * n),
        });
        return out.reduce((sum, value, i) => sum + value * da[i], 0);
      };
      const g = centralDifferenceGradient(loss, qkv);
      [dq, dk, dv] = [g.slice(0, n), g.slice(n, 2 * n), g.slice(2 * n)];
    }
    const result: Record<string, Float64Array> = {
      x: add64(
        matmulTransposedRight64(dq, w['query/kernel'], rows, d, d),
        matmulTransposedRight64(dk, w['key/kernel'], rows, d, d),
        matmulTransposedRight64(dv, w['value/kernel'], rows, d, d),
      ),
    };
    const upstream = { query: dq, key: dk, value: dv, output: Float64Array.from(r) };
    for (const p of PROJECTIONS) {
      const input = p === 'output' ? a : x;
      result[`${p}/kernel`] = matmulTransposedLeft64(input, upstream[p], rows, d, d);
      if (c.useBias !== false) result[`${p}/bias`] = columnSums64(upstream[p], rows, d);
    }
    return result;
  };
  return { y, gradients };
}

function makeLayer(c: Case, seed: number): ElementwiseAttentionLayer {
  return elementwiseAttentionLayer({
    order: c.order,
    causal: c.causal,
    groupSize: c.groupSize ?? 1,
    useBias: c.useBias ?? true,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    // Nonzero biases, so that the reference checks them too.
    biasInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.2, seed: seed + 1 }),
  });
}

disposeVariablesAfterEachTest();

describe.each(BACKENDS)('elementwiseAttentionLayer on %s', (backend) => {
  it.each(CASES)('outputs and gradients equal the float64 oracle: $name', async (c) => {
    await useBackend(backend);
    const layer = makeLayer(c, 7);
    const shape = [c.batch, c.length, c.channels];
    const { x, r, mask, y, values, variables } = applyToRandomInput(layer, shape, {
      seed: 11,
      scale: 0.7,
      mask: c.mask,
      maskDtype: 'bool',
    });
    expect(Object.keys(values).sort()).toEqual(
      PROJECTIONS.flatMap((p) =>
        c.useBias === false ? [`${p}/kernel`] : [`${p}/kernel`, `${p}/bias`],
      ).sort(),
    );
    const ref = reference(c, x.dataSync() as Float32Array, values);
    expectClose(y, ref.y, 1e-5, `${c.name}: y`);

    const xVariable = tf.variable(x, true, `x_${backend}_${c.name}`);
    const names = Object.keys(variables);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(xVariable, mask ? { mask } : {}) as tf.Tensor, r)),
      [xVariable, ...names.map((n) => variables[n])],
    );
    const refGrads = ref.gradients(r.dataSync() as Float32Array);
    expectClose(grads[xVariable.name], refGrads.x, 1e-5, `${c.name}: dx`);
    for (const n of names)
      expectClose(grads[variables[n].name], refGrads[n], 1e-5, `${c.name}: d ${n}`);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, r, y, xVariable, ...(mask ? [mask] : [])]);
    layer.dispose();
  });
});
