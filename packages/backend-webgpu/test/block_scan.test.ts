import '@tensorflow/tfjs-backend-webgpu';
import { ElementwiseAttentionBackward, ElementwiseAttentionForward } from '@elementwise/attention';
import { randomMask, randomNormal } from '@elementwise/conformance';
import { eaBackward, eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWebGPUKernels } from '../src/index.js';
import { scanGeometry } from '../src/programs/geometry.js';
import { watchDeviceErrors } from './device_errors.js';
import { expectClose, randomInputs, randomState } from './oracle_inputs.js';

/**
 * The blocked scan at lengths around its seams: one invocation walks 16 positions and a
 * workgroup block holds 64 × 16 = 1024 (order 6), so the lengths below end inside an
 * invocation's run, exactly on and just past an invocation and a block, and span several
 * blocks. Every output of the fused forward and backward kernels (called directly, with a mask,
 * an initial state and upstream state gradients) is compared with the float64 oracle.
 */
const ORDER = 6;
const LENGTHS = [1, 15, 16, 17, 1023, 1024, 1025, 2500];

const deviceErrors = watchDeviceErrors();

beforeAll(async () => {
  registerWebGPUKernels();
  await deviceErrors.start();
});

it('order 6 runs in blocks of 1024 positions', () => {
  expect(scanGeometry(ORDER).block).toBe(1024);
});

async function checkAgainstOracle(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  causal: boolean,
  seed: number,
  order = ORDER,
) {
  const terms = order + 1;
  const { q, k, v } = randomInputs(batch, queries, keys, channels, seed);
  const mask = randomMask(batch, keys, seed + 3);
  const s0 = randomState(batch, terms, channels, seed + 4);
  const z0 = randomState(batch, terms, channels, seed + 5);
  const dy = randomNormal(batch * queries * channels, seed + 6, 1);
  const dS = randomNormal(batch * terms * channels, seed + 7, 0.1);
  const dZ = randomNormal(batch * terms * channels, seed + 8, 0.1);
  const stateShape = [batch, terms, channels];
  const inputs = {
    q: tf.tensor(q, [batch, queries, channels]),
    k: tf.tensor(k, [batch, keys, channels]),
    v: tf.tensor(v, [batch, keys, channels]),
    mask: tf.tensor(mask, [batch, keys]),
    initialS: tf.tensor(s0, stateShape),
    initialZ: tf.tensor(z0, stateShape),
  };
  const upstream = {
    dy: tf.tensor(dy, [batch, queries, channels]),
    dFinalS: tf.tensor(dS, stateShape),
    dFinalZ: tf.tensor(dZ, stateShape),
  };
  const attrs = { order, causal };
  const engine = tf.engine();
  const forward = engine.runKernel(ElementwiseAttentionForward, inputs, attrs) as tf.Tensor[];
  const backward = engine.runKernel(
    ElementwiseAttentionBackward,
    { ...inputs, ...upstream },
    attrs,
  ) as tf.Tensor[];
  const [y, finalS, finalZ, dq, dk, dv, dInitialS, dInitialZ] = await Promise.all(
    [...forward, ...backward].map((t) => t.data()),
  );
  tf.dispose([...forward, ...backward, ...Object.values(inputs), ...Object.values(upstream)]);

  const data = { q, k, v, mask, dims: { batch, queryLength: queries, keyLength: keys, channels } };
  const initialState = { s: s0, z: z0 };
  const reference = eaForward(data, { order, causal, initialState, returnFinalState: true });
  const gradients = eaBackward(data, dy, {
    order,
    causal,
    initialState,
    dFinalState: { s: dS, z: dZ },
  });
  return [
    expectClose(y, reference.y, 'y'),
    expectClose(finalS, reference.finalState?.s ?? [], 'finalS'),
    expectClose(finalZ, reference.finalState?.z ?? [], 'finalZ'),
    expectClose(dq, gradients.dq, 'dq'),
    expectClose(dk, gradients.dk, 'dk'),
    expectClose(dv, gradients.dv, 'dv'),
    expectClose(dInitialS, gradients.dInitialState?.s ?? [], 'dInitialS'),
    expectClose(dInitialZ, gradients.dInitialState?.z ?? [], 'dInitialZ'),
  ];
}

describe('causal blocked scan against the float64 oracle', () => {
  for (const length of LENGTHS) {
    it(`L = ${length}, B = 2, D = 3: y, final state and every gradient`, async () => {
      const errors = await checkAgainstOracle(2, length, length, 3, true, length);
      console.info(
        `[webgpu] causal L=${length}: worst relative RMS ${Math.max(...errors).toExponential(2)}`,
      );
    });
  }
});

describe('non-causal reductions over several blocks', () => {
  it('Lq = 5, L = 2500, B = 2, D = 3', async () => {
    await checkAgainstOracle(2, 5, 2500, 3, false, 77);
  });
  it('Lq = 1100, L = 3, B = 1, D = 2', async () => {
    await checkAgainstOracle(1, 1100, 3, 2, false, 78);
  });
});

describe('large orders use smaller workgroups', () => {
  it('order 34: workgroups of 32 invocations, blocks of 512; L = 1100 causal', async () => {
    expect(scanGeometry(34)).toMatchObject({ invocations: 32, block: 512 });
    await checkAgainstOracle(1, 1100, 1100, 2, true, 91, 34);
  });
});
