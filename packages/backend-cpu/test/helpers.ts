import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { elementwiseAttention } from '@elementwise/attention';
import { type Case, describeCase } from '@elementwise/conformance';
import {
  type Dims,
  eaBackward,
  eaForward,
  maxAbsError,
  randomNormal,
  relativeRmsError,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** The tfjs backends the kernels are registered for. */
export const BACKENDS = ['cpu', 'wasm'] as const;

/** fp32 bound on the relative RMS error against the float64 oracle (DESIGN.md §5). */
export const BOUND = 1e-5;

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs backend '${name}' did not start`);
}

export { type Case, describeCase };

/** Flat float32 data of a case: inputs, upstream gradients, and the oracle's dims. */
export interface CaseData {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  mask?: Float32Array;
  s0?: Float32Array;
  z0?: Float32Array;
  dy: Float32Array;
  dS?: Float32Array;
  dZ?: Float32Array;
  dims: Dims;
}

export function makeCaseData(c: Case, seed = 1): CaseData {
  const { batch, queries, keys, channels } = c;
  const terms = c.order === 'exact' ? 0 : c.order + 1;
  const data: CaseData = {
    q: randomNormal(batch * queries * channels, seed),
    k: randomNormal(batch * keys * channels, seed + 1),
    v: randomNormal(batch * keys * channels, seed + 2, 1),
    dy: randomNormal(batch * queries * channels, seed + 3, 1),
    dims: { batch, queryLength: queries, keyLength: keys, channels },
  };
  if (c.masked) {
    const u = randomNormal(batch * keys, seed + 4, 1);
    data.mask = u.map((x, i) => (i % keys === 0 || x > -0.5 ? 1 : 0));
  }
  if (c.withState && terms > 0) {
    const size = batch * terms * channels;
    // A plausible state: the moments of a few earlier keys.
    data.z0 = randomNormal(size, seed + 5, 0.3).map((x, i) =>
      Math.floor(i / channels) % terms === 0 ? 2 + x : x,
    );
    data.s0 = randomNormal(size, seed + 6, 0.5);
    data.dS = randomNormal(size, seed + 7, 1);
    data.dZ = randomNormal(size, seed + 8, 1);
  }
  return data;
}

export interface Results {
  y: Float32Array;
  finalS?: Float32Array;
  finalZ?: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  ds0?: Float32Array;
  dz0?: Float32Array;
}

/** Σ sum(x · w) over the pairs: a loss whose gradient with respect to each x is its w. */
export function weightedSum(pairs: [tf.Tensor, tf.Tensor][]): tf.Scalar {
  return tf.addN(pairs.map(([x, w]) => tf.sum(tf.mul(x, w)))) as tf.Scalar;
}

/**
 * Runs the op and its gradient (via `tf.grads`) on the active backend, and fails if it leaks a
 * tensor. The loss is Σ dy·y (+ Σ dS·finalS + Σ dZ·finalZ when the case has a state).
 */
export function runCase(c: Case, data: CaseData): Results {
  const { batch, queries, keys, channels } = c;
  const terms = c.order === 'exact' ? 0 : c.order + 1;
  const { order, causal } = c;
  const withState = data.s0 && data.z0 && data.dS && data.dZ;
  const before = tf.memory().numTensors;
  // Tensors are read after the tidy scope: a scope walks what it returns.
  const tensors = tf.tidy(() => {
    const q = tf.tensor3d(data.q, [batch, queries, channels]);
    const k = tf.tensor3d(data.k, [batch, keys, channels]);
    const v = tf.tensor3d(data.v, [batch, keys, channels]);
    const mask = data.mask ? tf.tensor2d(data.mask, [batch, keys]) : undefined;
    const dy = tf.tensor3d(data.dy, [batch, queries, channels]);
    if (withState) {
      const stateShape: [number, number, number] = [batch, terms, channels];
      const [s0, z0, dS, dZ] = [data.s0, data.z0, data.dS, data.dZ].map((x) =>
        tf.tensor3d(x as Float32Array, stateShape),
      );
      const forward = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, s: tf.Tensor, z: tf.Tensor) =>
        elementwiseAttention(a, b, d, {
          order,
          causal,
          mask,
          initialState: { s, z },
          returnFinalState: true,
        });
      const out = forward(q, k, v, s0, z0);
      const loss = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, s: tf.Tensor, z: tf.Tensor) => {
        const r = forward(a, b, d, s, z);
        return weightedSum([
          [r.y, dy],
          [r.finalState.s, dS],
          [r.finalState.z, dZ],
        ]);
      };
      const grads = tf.grads(loss)([q, k, v, s0, z0]);
      return [out.y, out.finalState.s, out.finalState.z, ...grads];
    }
    const forward = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      elementwiseAttention(a, b, d, { order, causal, mask });
    const loss = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      weightedSum([[forward(a, b, d), dy]]);
    return [forward(q, k, v), ...tf.grads(loss)([q, k, v])];
  });
  const values = tensors.map((x) => x.dataSync() as Float32Array);
  tf.dispose(tensors);
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`${describeCase(c)}: leaked ${leaked} tensors`);
  if (withState) {
    const [y, finalS, finalZ, dq, dk, dv, ds0, dz0] = values;
    return { y, finalS, finalZ, dq, dk, dv, ds0, dz0 };
  }
  const [y, dq, dk, dv] = values;
  return { y, dq, dk, dv };
}

/** The float64 oracle's answer for the same case. */
export function oracleCase(c: Case, data: CaseData) {
  const inputs = { q: data.q, k: data.k, v: data.v, mask: data.mask, dims: data.dims };
  const initialState = data.s0 && data.z0 ? { s: data.s0, z: data.z0 } : undefined;
  const dFinalState = data.dS && data.dZ ? { s: data.dS, z: data.dZ } : undefined;
  const options = { order: c.order, causal: c.causal, initialState };
  const forward = eaForward(inputs, { ...options, returnFinalState: initialState !== undefined });
  const backward = eaBackward(inputs, data.dy, { ...options, dFinalState });
  return { forward, backward };
}

/**
 * Runs case `c` with `data` on the active backend and asserts every output and gradient within
 * `bound` of the oracle (the state ones too where the case has a state); returns each relative
 * RMS error by name.
 */
export function expectCaseMatchesOracle(
  c: Case,
  data = makeCaseData(c, 11),
  oracle = oracleCase(c, data),
  bound = BOUND,
): Record<string, number> {
  const got = runCase(c, data);
  const { forward, backward } = oracle;
  const pairs: [string, ArrayLike<number> | undefined, ArrayLike<number> | undefined][] = [
    ['y', got.y, forward.y],
    ['dq', got.dq, backward.dq],
    ['dk', got.dk, backward.dk],
    ['dv', got.dv, backward.dv],
  ];
  if (forward.finalState !== undefined || got.finalS !== undefined) {
    pairs.push(
      ['finalS', got.finalS, forward.finalState?.s],
      ['finalZ', got.finalZ, forward.finalState?.z],
      ['dInitialS', got.ds0, backward.dInitialState?.s],
      ['dInitialZ', got.dz0, backward.dInitialState?.z],
    );
  }
  const errors: Record<string, number> = {};
  for (const [name, value, reference] of pairs) {
    if (value === undefined || reference === undefined) throw new Error(`${name} missing`);
    errors[name] = expectClose(value, reference, name, bound);
  }
  return errors;
}

/**
 * Relative RMS error of `got` against `reference`, asserted below `bound`; returns it. A reference
 * that is zero up to float64 rounding (e.g. dq with a single key, where y = v whatever q) has no
 * meaningful relative error: there every value must be within `bound` in absolute terms.
 */
export function expectClose(
  got: ArrayLike<number>,
  reference: ArrayLike<number>,
  name: string,
  bound = BOUND,
): number {
  expect(got.length, `${name} length`).toBe(reference.length);
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) throw new Error(`${name}[${i}] is ${got[i]}`);
  }
  if (Math.sqrt(Array.from(reference).reduce((sum, x) => sum + x * x, 0)) < 1e-12) {
    const worst = maxAbsError(reference, got);
    expect(worst, `${name}: max abs error (zero reference)`).toBeLessThanOrEqual(bound);
    return 0;
  }
  const error = relativeRmsError(reference, got);
  expect(error, `${name}: relative RMS error`).toBeLessThanOrEqual(bound);
  return error;
}
