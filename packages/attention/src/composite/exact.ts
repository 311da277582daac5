import * as tf from '@tensorflow/tfjs-core';
import { safeDivide } from './safe_divide.js';

/**
 * Exact (quadratic) EA from plain tfjs ops: the reference form for small L. It materialises
 * [B, Lq, L, D] tensors, so memory is O(Lq·L·D) by nature.
 *
 * Stable weights: w_ij = exp(-(q_i - k_j)² + min_j (q_i - k_j)²), the shift cancelling in the
 * ratio, so the denominator is >= 1 whenever query i sees any key.
 */

export interface ExactInputs {
  /** [B, Lq, D] */
  q: tf.Tensor3D;
  /** [B, L, D] */
  k: tf.Tensor3D;
  /** [B, L, D] */
  v: tf.Tensor3D;
  /** [B, L] of 0/1 */
  mask: tf.Tensor2D;
}

interface PairTerms {
  /** q_i - k_j, [B, Lq, L, D] */
  difference: tf.Tensor;
  /** stable weights, 0 for keys the query does not see */
  weight: tf.Tensor;
  /** Σ_j w_ij, [B, Lq, 1, D] */
  total: tf.Tensor;
  /** y, [B, Lq, 1, D] */
  y: tf.Tensor;
}

function pairTerms({ q, k, v, mask }: ExactInputs, causal: boolean): PairTerms {
  const [batch, queries] = q.shape;
  const keys = k.shape[1];
  const difference = tf.sub(tf.expandDims(q, 2), tf.expandDims(k, 1));
  let sees = tf.greater(tf.reshape(mask, [batch, 1, keys, 1]), 0);
  if (causal) {
    const band = tf.greaterEqual(
      tf.reshape(tf.range(0, queries, 1, 'int32'), [1, queries, 1, 1]),
      tf.reshape(tf.range(0, keys, 1, 'int32'), [1, 1, keys, 1]),
    );
    sees = tf.logicalAnd(sees, band);
  }
  const distance = tf.where(sees, tf.square(difference), tf.fill(difference.shape, Infinity));
  const closest = tf.min(distance, 2, true);
  const shift = tf.where(tf.isFinite(closest), closest, tf.zerosLike(closest));
  const weight = tf.exp(tf.sub(shift, distance));
  const total = tf.sum(weight, 2, true);
  const y = safeDivide(tf.sum(tf.mul(weight, tf.expandDims(v, 1)), 2, true), total);
  return { difference, weight, total, y };
}

/** Forward: y [B, Lq, D]. */
export function exactForward(inputs: ExactInputs, causal: boolean): tf.Tensor3D {
  return tf.tidy(() => tf.squeeze(pairTerms(inputs, causal).y, [2]) as tf.Tensor3D);
}

/**
 * Backward. With P_ij = w_ij / Σ_j w_ij and G_ij = g_i P_ij (v_j - y_i) · 2(q_i - k_j):
 * dq_i = -Σ_j G_ij, dk_j = Σ_i G_ij, dv_j = Σ_i g_i P_ij.
 */
export function exactBackward(
  inputs: ExactInputs,
  dy: tf.Tensor3D,
  causal: boolean,
): { dq: tf.Tensor3D; dk: tf.Tensor3D; dv: tf.Tensor3D } {
  return tf.tidy(() => {
    const { difference, weight, total, y } = pairTerms(inputs, causal);
    const probability = safeDivide(weight, total);
    const gP = tf.mul(tf.expandDims(dy, 2), probability);
    const G = tf.mul(tf.mul(gP, tf.sub(tf.expandDims(inputs.v, 1), y)), tf.mul(difference, 2));
    return {
      dq: tf.neg(tf.sum(G, 2)) as tf.Tensor3D,
      dk: tf.sum(G, 1) as tf.Tensor3D,
      dv: tf.sum(gP, 1) as tf.Tensor3D,
    };
  });
}
