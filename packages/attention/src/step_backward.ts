import * as tf from '@tensorflow/tfjs-core';
import { attentionBackward } from './backward.js';
import { type StepTensors, stepAsSequence } from './contract_tensors.js';
import type { ElementwiseAttentionStepAttrs } from './kernel_names.js';

/**
 * Gradients of one recurrent step. The step is the causal forward over a single key with (s, z)
 * as initial state, so its backward is that forward's backward at L = 1.
 */
export function stepGradientMap(
  inputs: StepTensors,
  dys: tf.Tensor[],
  attrs: ElementwiseAttentionStepAttrs,
): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const [dy, dS, dZ] = dys;
    const [batch, channels] = inputs.q.shape;
    const [dq, dk, dv, ds, dz] = attentionBackward(
      {
        ...stepAsSequence(inputs),
        dy: tf.reshape(dy, [batch, 1, channels]) as tf.Tensor3D,
        dFinalS: dS as tf.Tensor3D,
        dFinalZ: dZ as tf.Tensor3D,
      },
      { ...attrs, causal: true },
    );
    const asStep = (x: tf.Tensor) => tf.reshape(x, [batch, channels]);
    return { q: asStep(dq), k: asStep(dk), v: asStep(dv), s: ds, z: dz };
  });
}
