import '@tensorflow/tfjs-backend-cpu';
import { randomNormal, softmaxAttention64 } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  causalEa,
  checkEaOracle,
  checkEaPrefix,
  checkSoftmaxRows,
  describeGradientCheck,
  FORWARD_TOLERANCE,
  GateError,
} from '../src/gates.js';
import { disposeInputs, makeInputs } from '../src/inputs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPE = { batch: 1, length: 19, channels: 5, seed: 3 };

describe('makeInputs', () => {
  it('draws q, k, v and the cotangent from consecutive seeds of randomNormal', () => {
    const inputs = makeInputs(1, 4, 3, 7);
    expect(inputs.q.dataSync()).toEqual(randomNormal(12, 7, 0.5));
    expect(inputs.k.dataSync()).toEqual(randomNormal(12, 8, 0.5));
    expect(inputs.v.dataSync()).toEqual(randomNormal(12, 9, 1));
    expect(inputs.cotangent.dataSync()).toEqual(randomNormal(12, 10, 1));
    disposeInputs(inputs);
  });
});

describe('checkEaOracle', () => {
  it('passes the op and reports its errors, leaking no tensor', async () => {
    const before = tf.memory().numTensors;
    const check = await checkEaOracle('EA-2', SHAPE, 2);
    expect(Math.max(check.forward, check.dq, check.dk, check.dv)).toBeLessThan(1e-5);
    expect(describeGradientCheck(check)).toMatch(/^y \S+, dq \S+, dk \S+, dv \S+$/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails when a gradient is off by 0.1 %', async () => {
    const wrongGradients = <T>(body: () => T): T => {
      const [y, dq, dk, dv] = body() as unknown as tf.Tensor[];
      const scaled = tf.mul(dk, 1.001);
      dk.dispose();
      return [y, dq, scaled, dv] as unknown as T;
    };
    await expect(checkEaOracle('EA-2', SHAPE, 2, wrongGradients)).rejects.toThrow(
      /EA-2 dk on cpu differs from float64/,
    );
  });

  it('fails when the output is of another order than the oracle', async () => {
    const otherOrder = <T>(body: () => T): T => {
      const outputs = body() as unknown as tf.Tensor[];
      const inputs = makeInputs(SHAPE.batch, SHAPE.length, SHAPE.channels, SHAPE.seed);
      const y = causalEa(6)(inputs.q, inputs.k, inputs.v);
      disposeInputs(inputs);
      outputs[0].dispose();
      return [y, ...outputs.slice(1)] as unknown as T;
    };
    await expect(checkEaOracle('EA-2', SHAPE, 2, otherOrder)).rejects.toBeInstanceOf(GateError);
  });
});

describe('checkEaPrefix', () => {
  it('accepts the op and refuses an output shifted by one position', () => {
    const inputs = makeInputs(1, 32, 4, 5);
    const y = causalEa(2)(inputs.q, inputs.k, inputs.v);
    expect(checkEaPrefix(y, inputs, 2, 16)).toMatchObject({ positions: 16 });
    const shifted = tf.concat([tf.slice(y, [0, 1, 0], [1, 31, 4]), tf.zeros([1, 1, 4])], 1);
    expect(() => checkEaPrefix(shifted, inputs, 2, 16)).toThrow(GateError);
    tf.dispose([y, shifted]);
    disposeInputs(inputs);
  });
});

describe('checkSoftmaxRows', () => {
  const dims = { count: 1, queries: 20, keys: 20, depth: 4, valueDepth: 4 };

  it('accepts the reference itself and refuses a perturbed last row', () => {
    const inputs = makeInputs(1, 20, 4, 9);
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((x) => x.dataSync());
    const reference = softmaxAttention64(q, k, v, dims, true);
    const y = tf.tensor3d(Float32Array.from(reference), [1, 20, 4]);
    expect(checkSoftmaxRows(y, inputs, 3)).toBeLessThan(FORWARD_TOLERANCE);
    const wrong = Float32Array.from(reference);
    wrong[wrong.length - 1] += 0.5;
    const yWrong = tf.tensor3d(wrong, [1, 20, 4]);
    expect(() => checkSoftmaxRows(yWrong, inputs, 3)).toThrow(/softmax attention on cpu/);
    tf.dispose([y, yWrong]);
    disposeInputs(inputs);
  });
});
