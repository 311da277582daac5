import * as tf from '@tensorflow/tfjs-core';
import {
  type ElementwiseAttentionInputs,
  type ElementwiseAttentionStepInputs,
  forwardInputNames,
  stepInputNames,
} from './kernel_names.js';

/**
 * The forward's inputs as tensors, named as in the contract: q [B, Lq, D], k and v [B, L, D],
 * mask [B, L] of 0/1, initialS and initialZ [B, T, D] (grouped EA: [B, F, D] and [B, F, G]).
 */
export type ForwardTensors = {
  [name in keyof ElementwiseAttentionInputs]: name extends 'mask' ? tf.Tensor2D : tf.Tensor3D;
};

/** The backward's inputs as tensors: the forward's, and the cotangents of its three outputs. */
export type BackwardTensors = ForwardTensors & {
  dy: tf.Tensor3D;
  dFinalS: tf.Tensor3D;
  dFinalZ: tf.Tensor3D;
};

/** The step's inputs as tensors: q, k, v [B, D], s and z [B, T, D] (grouped: [B, F, D|G]). */
export type StepTensors = {
  [name in keyof ElementwiseAttentionStepInputs]: name extends 's' | 'z'
    ? tf.Tensor3D
    : tf.Tensor2D;
};

const byName = (names: readonly string[], tensors: readonly tf.Tensor[]) =>
  Object.fromEntries(names.map((name, i) => [name, tensors[i]]));

/** Tensors listed in the contract's forward input order (as the gradient saves them), by name. */
export function forwardTensorsOf(tensors: readonly tf.Tensor[]): ForwardTensors {
  return byName(forwardInputNames, tensors) as ForwardTensors;
}

/** Tensors listed in the contract's step input order, by name. */
export function stepTensorsOf(tensors: readonly tf.Tensor[]): StepTensors {
  return byName(stepInputNames, tensors) as StepTensors;
}

/**
 * A step's inputs as the causal forward over its one key, with (s, z) as the initial state:
 * what a step is, and so how the composite computes it and its gradient.
 */
export function stepAsSequence({ q, k, v, s, z }: StepTensors): ForwardTensors {
  const [batch, channels] = q.shape;
  const asSequence = (x: tf.Tensor2D) => tf.reshape(x, [batch, 1, channels]) as tf.Tensor3D;
  return {
    q: asSequence(q),
    k: asSequence(k),
    v: asSequence(v),
    mask: tf.ones([batch, 1]),
    initialS: s,
    initialZ: z,
  };
}
