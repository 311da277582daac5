/**
 * Deterministic inputs generated in JavaScript. Tensors are built from these arrays and the
 * oracle reads the same arrays, so nothing has to be read back from a backend to prepare a test
 * (GPU backends cannot always read synchronously).
 */

/** Pseudo-random numbers in [0, 1) (mulberry32), so every failure reproduces from its seed. */
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

/** `size` normal samples (Box–Muller) with standard deviation `scale`, rounded to float32. */
export function randomNormal(size: number, seed: number, scale = 0.5): Float32Array {
  const next = randomGenerator(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = Math.max(next(), 1e-12);
    values[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return values;
}

/** A 0/1 mask `[B, L]` with at least one visible key (the first) in every row. */
export function randomMask(batch: number, keys: number, seed: number): Float32Array {
  const next = randomGenerator(seed);
  const values = new Float32Array(batch * keys).map(() => (next() < 0.7 ? 1 : 0));
  for (let b = 0; b < batch; b++) values[b * keys] = 1;
  return values;
}
