import * as tf from '@tensorflow/tfjs-core';
import { attentionBackward } from './backward.js';
import type { StepTensors } from './contract_tensors.js';
import type { ElementwiseAttentionStepAttrs } from './kernel_names.js';

/**
 * Gradients of one recurrent step. The step is the causal forward over a single key with (s, z)
 * as initial state, so its backward is that forward's backward at L = 1.
 */
export function stepGradientMap(
  { q, k, v, s, z }: StepTensors,
  dys: tf.Tensor[],
  attrs: ElementwiseAttentionStepAttrs,
): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const [dy, dS, dZ] = dys;
    const [batch, channels] = q.shape;
    const asSequence = (x: tf.Tensor) => tf.reshape(x, [batch, 1, channels]) as tf.Tensor3D;
    const [dq, dk, dv, ds, dz] = attentionBackward(
      {
        q: asSequence(q),
        k: asSequence(k),
        v: asSequence(v),
        mask: tf.ones([batch, 1]),
        initialS: s,
        initialZ: z,
        dy: asSequence(dy),
        dFinalS: dS as tf.Tensor3D,
        dFinalZ: dZ as tf.Tensor3D,
      },
      { ...attrs, causal: true },
    );
    const asStep = (x: tf.Tensor) => tf.reshape(x, [batch, channels]);
    return { q: asStep(dq), k: asStep(dk), v: asStep(dv), s: ds, z: dz };
  });
}
