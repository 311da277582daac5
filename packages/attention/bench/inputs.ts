import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run times the same data. */
function uniformGenerator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples (Box–Muller) with standard deviation `scale`. */
export function normalValues(size: number, seed: number, scale: number): Float32Array {
  const next = uniformGenerator(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = Math.max(next(), 1e-12);
    values[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return values;
}

export interface AttentionInputs {
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  /** The fixed cotangent g of the backward: the loss is sum(y ⊙ g). */
  cotangent: tf.Tensor3D;
}

/**
 * q, k ~ N(0, 0.5²) keep |2qk| where a degree-6 Taylor series of e^{2qk} is accurate, as
 * normalised projections would; v and the cotangent ~ N(0, 1).
 */
export function makeInputs(
  batch: number,
  length: number,
  channels: number,
  seed = 1,
): AttentionInputs {
  const shape: [number, number, number] = [batch, length, channels];
  const size = batch * length * channels;
  return {
    q: tf.tensor3d(normalValues(size, seed, 0.5), shape),
    k: tf.tensor3d(normalValues(size, seed + 1, 0.5), shape),
    v: tf.tensor3d(normalValues(size, seed + 2, 1), shape),
    cotangent: tf.tensor3d(normalValues(size, seed + 3, 1), shape),
  };
}

export function disposeInputs(inputs: AttentionInputs): void {
  tf.dispose([inputs.q, inputs.k, inputs.v, inputs.cotangent]);
}
