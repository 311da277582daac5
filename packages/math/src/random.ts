/**
 * Seeded pseudo-random numbers for reproducible inputs: every test, benchmark and data split in
 * the project draws from these, so a failure reproduces from its seed on every machine.
 */

/** Uniform numbers in [0, 1) (mulberry32). */
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

/** `size` uniform samples in [-scale, scale), rounded to float32. */
export function randomUniform(size: number, seed: number, scale = 1): Float32Array {
  const next = randomGenerator(seed);
  return Float32Array.from({ length: size }, () => (2 * next() - 1) * scale);
}
