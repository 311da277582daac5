/**
 * Deterministic inputs in [-1, 1) from a linear congruential generator: each call of the
 * returned function gives the next `count` values.
 */
export function seededValues(seed: number, count: number): () => Float32Array {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return (state / 2 ** 31) * 2 - 1;
  };
  return () => Float32Array.from({ length: count }, random);
}
