import * as tf from '@tensorflow/tfjs-core';
import { compositeBackward, type ForwardTensors } from './composite/kernels.js';
import { hasFusedKernel, runFusedKernel } from './dispatch.js';
import {
  type AttentionOrder,
  asKernelArgs,
  ElementwiseAttentionBackward,
  type ElementwiseAttentionBackwardInputs,
} from './kernel_names.js';

export type ForwardGradients = [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];

/**
 * dq, dk, dv, dInitialS, dInitialZ of the forward: the backend's fused backward kernel where it
 * registered one, the composite backward otherwise. Shared by every path that needs gradients.
 */
export function attentionBackward(
  inputs: ForwardTensors,
  dy: tf.Tensor3D,
  dFinalS: tf.Tensor3D,
  dFinalZ: tf.Tensor3D,
  order: AttentionOrder,
  causal: boolean,
): ForwardGradients {
  if (!hasFusedKernel(ElementwiseAttentionBackward)) {
    return compositeBackward(inputs, dy, dFinalS, dFinalZ, order, causal);
  }
  const gradInputs: ElementwiseAttentionBackwardInputs = { ...inputs, dy, dFinalS, dFinalZ };
  const outputs = runFusedKernel(
    ElementwiseAttentionBackward,
    ...asKernelArgs(gradInputs, { order, causal }),
  );
  return outputs as ForwardGradients;
}

/** Rebuilds the forward inputs from tensors saved in `forwardInputNames` order. */
export function savedForwardInputs(saved: tf.Tensor[]): ForwardTensors {
  const [q, k, v, mask, initialS, initialZ] = saved;
  return {
    q: q as tf.Tensor3D,
    k: k as tf.Tensor3D,
    v: v as tf.Tensor3D,
    mask: mask as tf.Tensor2D,
    initialS: initialS as tf.Tensor3D,
    initialZ: initialZ as tf.Tensor3D,
  };
}

/** The gradient map of the forward kernel's inputs; the mask is not differentiable. */
export function forwardGradientMap(
  inputs: ForwardTensors,
  dys: tf.Tensor[],
  order: AttentionOrder,
  causal: boolean,
): Record<string, tf.Tensor> {
  const [dy, dFinalS, dFinalZ] = dys as tf.Tensor3D[];
  const [dq, dk, dv, dInitialS, dInitialZ] = attentionBackward(
    inputs,
    dy,
    dFinalS,
    dFinalZ,
    order,
    causal,
  );
  return {
    q: dq,
    k: dk,
    v: dv,
    mask: tf.zerosLike(inputs.mask),
    initialS: dInitialS,
    initialZ: dInitialZ,
  };
}
