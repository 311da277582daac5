import { centralDifferenceGradient } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { multiHeadAttentionLayer } from '../src/index.js';
import {
  applyToRandomInput,
  disposeVariablesAfterEachTest,
  expectClose,
  PROJECTIONS,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';
import { type HeadsConfig, multiHeadAttention64 } from './softmax_reference.js';

interface Case extends HeadsConfig {
  name: string;
  mask?: number[][];
}

const CASES: Case[] = [
  {
    name: '2 heads, causal',
    batch: 2,
    length: 5,
    channels: 6,
    numHeads: 2,
    keyDim: 3,
    valueDim: 3,
    causal: true,
    useBias: true,
  },
  {
    name: '3 heads, non-causal, valueDim ≠ keyDim, padding mask',
    batch: 2,
    length: 4,
    channels: 5,
    numHeads: 3,
    keyDim: 2,
    valueDim: 4,
    causal: false,
    useBias: true,
    mask: [
      [1, 1, 0, 1],
      [0, 0, 0, 0],
    ],
  },
  {
    name: '1 head, causal, left padding, no bias',
    batch: 2,
    length: 4,
    channels: 4,
    numHeads: 1,
    keyDim: 4,
    valueDim: 4,
    causal: true,
    useBias: false,
    mask: [
      [0, 1, 1, 1],
      [0, 0, 1, 1],
    ],
  },
];

disposeVariablesAfterEachTest();

describe.each(BACKENDS)('multiHeadAttentionLayer on %s', (backend) => {
  it.each(CASES)('outputs and gradients equal a float64 per-head reference: $name', async (c) => {
    await useBackend(backend);
    const layer = multiHeadAttentionLayer({
      numHeads: c.numHeads,
      keyDim: c.keyDim,
      valueDim: c.valueDim,
      causal: c.causal,
      useBias: c.useBias,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
      biasInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.2, seed: 4 }),
    });
    const shape = [c.batch, c.length, c.channels];
    const { x, r, mask, y, values, variables } = applyToRandomInput(layer, shape, {
      seed: 5,
      scale: 1,
      mask: c.mask,
      maskDtype: 'int32',
    });
    const names = PROJECTIONS.flatMap((p) =>
      c.useBias ? [`${p}/kernel`, `${p}/bias`] : [`${p}/kernel`],
    );
    expect(Object.keys(values).sort()).toEqual([...names].sort());
    expect(values['value/kernel'].length).toBe(c.channels * c.numHeads * c.valueDim);
    const maskValues = c.mask?.flat();
    expectClose(y, multiHeadAttention64(x.dataSync(), values, c, maskValues), 1e-5, `${c.name}: y`);

    // Float64 gradients of Σ y ⊙ r by central differences over x and every weight.
    const rValues = r.dataSync();
    const sizes = [x.size, ...names.map((n) => values[n].length)];
    const point = new Float64Array(sizes.reduce((a, b) => a + b, 0));
    point.set(x.dataSync(), 0);
    names.reduce((offset, n, i) => {
      point.set(values[n], offset);
      return offset + sizes[i + 1];
    }, x.size);
    const split = (p: Float64Array) => {
      const parts: Float64Array[] = [];
      let offset = 0;
      for (const size of sizes) {
        parts.push(p.subarray(offset, offset + size));
        offset += size;
      }
      return parts;
    };
    const loss = (p: Float64Array) => {
      const [xp, ...weights] = split(p);
      const w = Object.fromEntries(names.map((n, i) => [n, weights[i]]));
      return multiHeadAttention64(xp, w, c, maskValues).reduce(
        (sum, value, i) => sum + value * rValues[i],
        0,
      );
    };
    const [dx64, ...dw64] = split(centralDifferenceGradient(loss, point));

    const xVariable = tf.variable(x, true, `x_mha_${backend}_${c.name}`);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(xVariable, mask ? { mask } : {}) as tf.Tensor, r)),
      [xVariable, ...names.map((n) => variables[n])],
    );
    expectClose(grads[xVariable.name], dx64, 1e-5, `${c.name}: dx`);
    names.forEach((n, i) => {
      expectClose(grads[variables[n].name], dw64[i], 1e-5, `${c.name}: d ${n}`);
    });
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, r, y, xVariable, ...(mask ? [mask] : [])]);
  });
});
