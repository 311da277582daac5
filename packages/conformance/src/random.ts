/**
 * Deterministic inputs generated in JavaScript. Tensors are built from these arrays and the
 * oracle reads the same arrays, so nothing has to be read back from a backend to prepare a test
 * (GPU backends cannot always read synchronously).
 */

import { randomGenerator } from '@elementwise/math';

export { randomGenerator, randomNormal } from '@elementwise/math';

/** A 0/1 mask `[B, L]` with at least one visible key (the first) in every row. */
export function randomMask(batch: number, keys: number, seed: number): Float32Array {
  const next = randomGenerator(seed);
  const values = new Float32Array(batch * keys).map(() => (next() < 0.7 ? 1 : 0));
  for (let b = 0; b < batch; b++) values[b * keys] = 1;
  return values;
}
