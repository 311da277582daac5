import * as tf from '@tensorflow/tfjs-core';
import { compositeBackward } from './composite/kernels.js';
import type { BackwardTensors, ForwardTensors } from './contract_tensors.js';
import { hasFusedKernel, runFusedKernel } from './dispatch.js';
import {
  asKernelArgs,
  type ElementwiseAttentionAttrs,
  ElementwiseAttentionBackward,
} from './kernel_names.js';

export type ForwardGradients = [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];

/**
 * dq, dk, dv, dInitialS, dInitialZ of the forward: the backend's fused backward kernel where it
 * registered one, the composite backward otherwise. Shared by every path that needs gradients.
 */
export function attentionBackward(
  inputs: BackwardTensors,
  attrs: ElementwiseAttentionAttrs,
): ForwardGradients {
  if (!hasFusedKernel(ElementwiseAttentionBackward)) return compositeBackward(inputs, attrs);
  // The forward's attrs pass through whole: the backward kernel takes the same ones.
  const outputs = runFusedKernel(ElementwiseAttentionBackward, ...asKernelArgs(inputs, attrs));
  return outputs as ForwardGradients;
}

/** The gradient map of the forward kernel's inputs; the mask is not differentiable. */
export function forwardGradientMap(
  inputs: ForwardTensors,
  dys: tf.Tensor[],
  attrs: ElementwiseAttentionAttrs,
): Record<string, tf.Tensor> {
  const [dy, dFinalS, dFinalZ] = dys as tf.Tensor3D[];
  const [dq, dk, dv, dInitialS, dInitialZ] = attentionBackward(
    { ...inputs, dy, dFinalS, dFinalZ },
    attrs,
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
