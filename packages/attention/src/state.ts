import * as tf from '@tensorflow/tfjs-core';
import { stateSize } from './kernel_names.js';
import { checkOrder } from './validation.js';

/**
 * Recurrent state of causal EA: the running moments `s_n = Σ_j f_n(k_j) v_j` and
 * `z_n = Σ_j f_n(k_j)`, each [B, t+1, D]. O(t·D) per sequence, whatever its length.
 */
export type AttentionState = {
  s: tf.Tensor;
  z: tf.Tensor;
};

/** The state before any key: zeros of shape [batch, order + 1, channels]. */
export function zeroState(order: number, batch: number, channels: number): AttentionState {
  checkOrder('zeroState', order, false);
  const shape = [batch, stateSize(order), channels];
  return { s: tf.zeros(shape), z: tf.zeros(shape) };
}

export function disposeState(state: AttentionState): void {
  state.s.dispose();
  state.z.dispose();
}
