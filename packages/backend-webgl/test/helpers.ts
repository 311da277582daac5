import { elementwiseAttention } from '@elementwise/attention';
import { type EaBackwardResult, eaBackward, eaForward, relativeRmsError } from '@elementwise/math';

import * as tf from '@tensorflow/tfjs-core';

/** A deterministic generator (mulberry32) of uniform numbers in [-scale, scale). */
export function randomValues(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    values[i] = (2 * unit - 1) * scale;
  }
  return values;
}

export interface Problem {
  batch: number;
  length: number;
  channels: number;
  order: number;
  causal: boolean;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dy: Float32Array;
}

export function makeProblem(
  batch: number,
  length: number,
  channels: number,
  order: number,
  causal: boolean,
  seed: number,
): Problem {
  const size = batch * length * channels;
  return {
    batch,
    length,
    channels,
    order,
    causal,
    q: randomValues(size, seed, 1.2),
    k: randomValues(size, seed + 1, 1.2),
    v: randomValues(size, seed + 2),
    dy: randomValues(size, seed + 3),
  };
}

/** Relative RMS error bound (float32), and the RMS bound where the reference is zero. */
export const RELATIVE_BOUND = 1e-5;
export const ZERO_BOUND = 1e-6;

function rms(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum / Math.max(1, values.length));
}

/**
 * The error of `got` as a fraction of its bound (pass: <= 1): relative RMS against
 * {@link RELATIVE_BOUND}, or, where the reference is zero up to rounding (dq of a query whose
 * only key is itself cancels to 0), the RMS of `got` against {@link ZERO_BOUND}.
 */
export function boundFraction(reference: ArrayLike<number>, got: ArrayLike<number>): Measured {
  if (rms(reference) < ZERO_BOUND) {
    const error = rms(got);
    return { fraction: error / ZERO_BOUND, text: `RMS ${error.toExponential(2)} (zero reference)` };
  }
  const error = relativeRmsError(reference, got);
  return { fraction: error / RELATIVE_BOUND, text: error.toExponential(2) };
}

export interface Measured {
  /** error / bound */
  fraction: number;
  text: string;
}

/** Errors as fractions of their bounds ({@link boundFraction}); 1 is the limit. */
export interface Errors {
  y: Measured;
  finalS: Measured;
  finalZ: Measured;
  dq: Measured;
  dk: Measured;
  dv: Measured;
}

/**
 * Runs the op and its gradients on the active backend and returns the relative RMS errors
 * against the float64 oracle. Every tensor made here is released before returning.
 */
export async function errorsAgainstOracle(problem: Problem): Promise<Errors> {
  const { batch, length, channels, order, causal } = problem;
  const shape: [number, number, number] = [batch, length, channels];
  const dims = { batch, queryLength: length, keyLength: length, channels };
  const oracleInputs = { q: problem.q, k: problem.k, v: problem.v, dims };
  const forward = eaForward(oracleInputs, { order, causal, returnFinalState: true });
  const backward: EaBackwardResult = eaBackward(oracleInputs, problem.dy, { order, causal });

  const [q, k, v, dy] = [problem.q, problem.k, problem.v, problem.dy].map((x) =>
    tf.tensor3d(x, shape),
  );
  const result = elementwiseAttention(q, k, v, { order, causal, returnFinalState: true });
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(elementwiseAttention(a, b, c, { order, causal }), dy)),
  )([q, k, v]);
  const read = async (x: tf.Tensor) => (await x.data()) as Float32Array;
  const [y, s, z, dq, dk, dv] = await Promise.all(
    [result.y, result.finalState.s, result.finalState.z, ...grads].map(read),
  );
  tf.dispose([q, k, v, dy, result.y, result.finalState.s, result.finalState.z, ...grads]);
  const finalState = forward.finalState;
  if (finalState === undefined) throw new Error('the oracle returned no final state');
  return {
    y: boundFraction(forward.y, y),
    finalS: boundFraction(finalState.s, s),
    finalZ: boundFraction(finalState.z, z),
    dq: boundFraction(backward.dq, dq),
    dk: boundFraction(backward.dk, dk),
    dv: boundFraction(backward.dv, dv),
  };
}

export function formatErrors(errors: Errors): string {
  return Object.entries(errors)
    .map(([name, value]) => `${name} ${value.text}`)
    .join(', ');
}
