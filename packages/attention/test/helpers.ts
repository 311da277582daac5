import { randomNormal as randomValues, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name)
    throw new Error(`tfjs backend '${name}' failed to initialise`);
}

/**
 * For a describe of refused calls: runs it on `backend`, and fails any test after which more
 * tensors exist than before it (a refused call must not leak).
 */
export function refusedCallsLeakNothing(backend: string): void {
  beforeAll(() => useBackend(backend));
  let start = 0;
  beforeEach(() => {
    start = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors, 'a refused call must not leak tensors').toBe(start);
  });
}

/** `build` as a thunk for `expect(…).toThrow`, inside `tf.tidy` so what it allocates is freed. */
export const refusedCall = (build: () => unknown) => () => tf.tidy(() => void build());

/** Normal samples (Box–Muller) with the given standard deviation, as float32 values. */
export { randomValues };

/** {@link randomValues} as a float32 tensor. */
export function randomNormal(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(randomValues(size, seed, scale), shape, 'float32');
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
