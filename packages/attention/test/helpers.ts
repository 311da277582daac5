import {
  type AttentionOptions,
  type Dims,
  eaBackward,
  eaForward,
  relativeRmsError,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name)
    throw new Error(`tfjs backend '${name}' failed to initialise`);
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function randomGenerator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples (Box–Muller) with the given standard deviation, as a float32 tensor. */
export function randomNormal(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  const next = randomGenerator(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = Math.max(next(), 1e-12);
    values[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return tf.tensor(values, shape, 'float32');
}

/** A 0/1 mask [B, L] with at least one visible key per row. */
export function randomMask(batch: number, keys: number, seed: number): tf.Tensor2D {
  const next = randomGenerator(seed);
  const values = new Float32Array(batch * keys).map(() => (next() < 0.7 ? 1 : 0));
  for (let b = 0; b < batch; b++) values[b * keys] = 1;
  return tf.tensor2d(values, [batch, keys]);
}

export interface Case {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
  order: number | 'exact';
  causal: boolean;
  masked?: boolean;
  withState?: boolean;
}

export function describeCase(c: Case): string {
  const parts = [
    `B=${c.batch}`,
    `Lq=${c.queries}`,
    `L=${c.keys}`,
    `D=${c.channels}`,
    `order=${c.order}`,
  ];
  if (c.causal) parts.push('causal');
  if (c.masked) parts.push('mask');
  if (c.withState) parts.push('state');
  return parts.join(' ');
}

export interface CaseTensors {
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  mask?: tf.Tensor2D;
  state?: { s: tf.Tensor3D; z: tf.Tensor3D };
  dims: Dims;
}

export function makeCase(c: Case, seed = 1): CaseTensors {
  const { batch, queries, keys, channels } = c;
  const moments = c.order === 'exact' ? 0 : c.order + 1;
  return {
    q: randomNormal([batch, queries, channels], seed) as tf.Tensor3D,
    k: randomNormal([batch, keys, channels], seed + 1) as tf.Tensor3D,
    v: randomNormal([batch, keys, channels], seed + 2, 1) as tf.Tensor3D,
    mask: c.masked ? randomMask(batch, keys, seed + 3) : undefined,
    state: c.withState
      ? {
          s: randomNormal([batch, moments, channels], seed + 4, 0.3) as tf.Tensor3D,
          // z0 must keep denominators positive, as a real running state would.
          z: tf.tidy(() =>
            tf.abs(randomNormal([batch, moments, channels], seed + 5, 0.3)),
          ) as tf.Tensor3D,
        }
      : undefined,
    dims: { batch, queryLength: queries, keyLength: keys, channels },
  };
}

export function disposeCase(t: CaseTensors): void {
  tf.dispose(
    [t.q, t.k, t.v, t.mask, t.state?.s, t.state?.z].filter((x) => x != null) as tf.Tensor[],
  );
}

/** The oracle's view of a case: the float32 values, widened to float64. */
export function oracleInputs(t: CaseTensors) {
  return {
    q: t.q.dataSync(),
    k: t.k.dataSync(),
    v: t.v.dataSync(),
    mask: t.mask?.dataSync(),
    dims: t.dims,
  };
}

export function oracleOptions(c: Case, t: CaseTensors): AttentionOptions {
  return {
    order: c.order,
    causal: c.causal,
    initialState: t.state ? { s: t.state.s.dataSync(), z: t.state.z.dataSync() } : undefined,
  };
}

export function oracleForward(c: Case, t: CaseTensors) {
  return eaForward(oracleInputs(t), {
    ...oracleOptions(c, t),
    returnFinalState: c.order !== 'exact',
  });
}

export function oracleBackward(
  c: Case,
  t: CaseTensors,
  dy: ArrayLike<number>,
  dFinalState?: { s: ArrayLike<number>; z: ArrayLike<number> },
) {
  return eaBackward(oracleInputs(t), dy, { ...oracleOptions(c, t), dFinalState });
}

const ZERO_RMS = 1e-6;

/** Asserts ‖ref − got‖₂ / ‖ref‖₂ <= bound, printing the measured error on failure. */
export function expectClose(
  got: tf.Tensor | ArrayLike<number>,
  reference: ArrayLike<number>,
  bound: number,
  what: string,
) {
  const values = got instanceof tf.Tensor ? got.dataSync() : got;
  expect(values.length, `${what}: length`).toBe(reference.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw new Error(`${what}: non-finite value ${values[i]} at ${i}`);
  }
  const referenceRms = Math.sqrt(
    Array.from(reference).reduce((sum, x) => sum + x * x, 0) / Math.max(reference.length, 1),
  );
  if (referenceRms < ZERO_RMS) {
    // A reference that is zero up to rounding (e.g. dq with a single key) has no scale to be
    // relative to: require the result to be zero up to float32 rounding instead.
    const gotRms = Math.sqrt(
      Array.from(values).reduce((sum, x) => sum + x * x, 0) / Math.max(values.length, 1),
    );
    expect(gotRms, `${what}: RMS of a result that should be zero`).toBeLessThanOrEqual(ZERO_RMS);
    return gotRms;
  }
  const error = relativeRmsError(reference, values);
  expect(error, `${what}: relative RMS error`).toBeLessThanOrEqual(bound);
  return error;
}
