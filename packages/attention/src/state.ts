import * as tf from '@tensorflow/tfjs-core';
import { checkGroupSize, checkGroupsDivide, stateShapes } from './group_size.js';
import { checkOrder } from './validation.js';

/**
 * Recurrent state of causal EA: the running moments `s_n = Σ_j f_n(k_j) v_j` and
 * `z_n = Σ_j f_n(k_j)`, each [B, t+1, D]. O(t·D) per sequence, whatever its length.
 */
export type AttentionState = {
  s: tf.Tensor;
  z: tf.Tensor;
};

/**
 * The state before any key: zeros of shape [batch, order + 1, channels] each, or with groups of
 * `groupSize` channels s [batch, F, channels] and z [batch, F, channels / groupSize].
 */
export function zeroState(
  order: number,
  batch: number,
  channels: number,
  groupSize = 1,
): AttentionState {
  checkOrder('zeroState', order, false);
  const size = checkGroupSize('zeroState', groupSize, order);
  checkGroupsDivide('zeroState', size, channels);
  const shapes = stateShapes(order, size, channels);
  return { s: tf.zeros([batch, ...shapes.s]), z: tf.zeros([batch, ...shapes.z]) };
}

export function disposeState(state: AttentionState): void {
  state.s.dispose();
  state.z.dispose();
}
