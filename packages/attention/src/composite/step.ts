import { taylorCoefficients } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import type { StepTensors } from '../contract_tensors.js';
import { scaledTerm, scaledTermsOf, useScaled } from './query_terms.js';
import { safeDivide } from './safe_divide.js';

/**
 * One recurrent step from plain tfjs ops, O(t·D) per sequence whatever the position:
 * s' = s + f(k) v, z' = z + f(k), y = Σ a_n q^n s'_n / Σ a_n q^n z'_n.
 * q, k, v are [B, D]; s, z are [B, t+1, D].
 */
export function stepForward(
  { q, k, v, s, z }: StepTensors,
  order: number,
): [tf.Tensor2D, tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const a = taylorCoefficients(order);
    const features: tf.Tensor[] = [tf.exp(tf.neg(tf.square(k)))];
    const weights: tf.Tensor[] = [tf.fill(q.shape, a[0])];
    for (let n = 1; n <= order; n++) {
      features.push(tf.mul(features[n - 1], k));
      weights.push(tf.mul(weights[n - 1], tf.mul(q, a[n] / a[n - 1])));
    }
    const f = tf.stack(features, 1);
    const sNext = tf.add(s, tf.mul(f, tf.expandDims(v, 1))) as tf.Tensor3D;
    const zNext = tf.add(z, f) as tf.Tensor3D;
    // Plain query terms, or, where they overflow, the same divided by q^t (./query_terms.ts).
    const read = (w: tf.Tensor) => [tf.sum(tf.mul(w, sNext), 1), tf.sum(tf.mul(w, zNext), 1)];
    const [N, M] = read(tf.stack(weights, 1));
    const terms = scaledTermsOf(q);
    const scaledWeights = Array.from(a, (_, n) => scaledTerm(terms, a, n, order));
    const [scaledN, scaledM] = read(tf.stack(scaledWeights, 1));
    const scaled = useScaled(M, scaledM, q);
    const y = safeDivide(tf.where(scaled, scaledN, N), tf.where(scaled, scaledM, M)) as tf.Tensor2D;
    return [y, sNext, zNext];
  });
}
