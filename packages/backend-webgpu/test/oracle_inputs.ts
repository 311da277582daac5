import { randomNormal } from '@elementwise/conformance';
import { relativeRmsError } from '@elementwise/math';
import { expect } from 'vitest';

/** Asserts relative RMS error ≤ `bound` (and finite values); returns the error. */
export function expectClose(
  got: ArrayLike<number>,
  reference: ArrayLike<number>,
  name: string,
  bound = 1e-5,
): number {
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) throw new Error(`${name}: non-finite value ${got[i]} at ${i}`);
  }
  const error = relativeRmsError(reference, got);
  expect(error, `${name}: relative RMS error`).toBeLessThanOrEqual(bound);
  return error;
}

/** Seeded inputs for a call: q [B, Lq, D], k and v [B, L, D]. */
export function randomInputs(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  seed: number,
) {
  return {
    q: randomNormal(batch * queries * channels, seed),
    k: randomNormal(batch * keys * channels, seed + 1),
    v: randomNormal(batch * keys * channels, seed + 2, 1),
  };
}

/** A non-negative state [B, T, D] like one built from keys (so denominators stay positive). */
export function randomState(batch: number, terms: number, channels: number, seed: number) {
  return randomNormal(batch * terms * channels, seed).map((x) => Math.abs(x));
}
