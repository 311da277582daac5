import * as tf from '@tensorflow/tfjs-core';
import type { BackwardTensors, ForwardTensors } from '../contract_tensors.js';
import type { AttentionOrder, ElementwiseAttentionAttrs } from '../kernel_names.js';
import { exactBackward, exactForward } from './exact.js';
import { seriesBackward, seriesForward } from './series.js';

/**
 * The composite implementations of the contract's forward and backward, with the contract's
 * inputs and outputs (kernel_names.ts), built from tfjs ops so they run on every backend.
 */

export function compositeForward(
  inputs: ForwardTensors,
  order: AttentionOrder,
  causal: boolean,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  if (order !== 'exact') return seriesForward(inputs, order, causal);
  return [exactForward(inputs, causal), tf.clone(inputs.initialS), tf.clone(inputs.initialZ)];
}

export function compositeBackward(
  inputs: BackwardTensors,
  { order, causal }: ElementwiseAttentionAttrs,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const { dy, dFinalS, dFinalZ } = inputs;
  if (order !== 'exact') {
    const g = seriesBackward(inputs, dy, dFinalS, dFinalZ, order, causal);
    return [g.dq, g.dk, g.dv, g.dInitialS, g.dInitialZ];
  }
  // Exact EA has no state: its state tensors are empty and pass no gradient.
  const g = exactBackward(inputs, dy, causal);
  return [g.dq, g.dk, g.dv, tf.zerosLike(inputs.initialS), tf.zerosLike(inputs.initialZ)];
}
