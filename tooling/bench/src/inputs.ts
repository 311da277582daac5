import { randomNormal } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';

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
    q: tf.tensor3d(randomNormal(size, seed, 0.5), shape),
    k: tf.tensor3d(randomNormal(size, seed + 1, 0.5), shape),
    v: tf.tensor3d(randomNormal(size, seed + 2, 1), shape),
    cotangent: tf.tensor3d(randomNormal(size, seed + 3, 1), shape),
  };
}

export function disposeInputs(inputs: AttentionInputs): void {
  tf.dispose([inputs.q, inputs.k, inputs.v, inputs.cotangent]);
}
