import * as tf from '@tensorflow/tfjs-core';
import { forwardGradientMap } from './backward.js';
import { forwardTensorsOf, stepTensorsOf } from './contract_tensors.js';
import {
  type ElementwiseAttentionAttrs,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
  type ElementwiseAttentionStepAttrs,
  forwardInputNames,
  stepInputNames,
} from './kernel_names.js';
import { stepGradientMap } from './step_backward.js';

/**
 * Gradients of the contract's kernels, registered once for every backend. They run the
 * backend's fused backward kernel where it has one, and the composite backward otherwise.
 */

const toThunks = (grads: Record<string, tf.Tensor>) =>
  Object.fromEntries(Object.entries(grads).map(([name, grad]) => [name, () => grad]));

const asArray = (dys: tf.Tensor | tf.Tensor[]) => (Array.isArray(dys) ? dys : [dys]);

export const elementwiseAttentionGradConfig: tf.GradConfig = {
  kernelName: ElementwiseAttentionForward,
  inputsToSave: [...forwardInputNames],
  gradFunc: (dys, saved, attrs) => {
    const forwardAttrs = attrs as unknown as ElementwiseAttentionAttrs;
    return toThunks(forwardGradientMap(forwardTensorsOf(saved), asArray(dys), forwardAttrs));
  },
};

export const elementwiseAttentionStepGradConfig: tf.GradConfig = {
  kernelName: ElementwiseAttentionStep,
  inputsToSave: [...stepInputNames],
  gradFunc: (dys, saved, attrs) => {
    const stepAttrs = attrs as unknown as ElementwiseAttentionStepAttrs;
    return toThunks(stepGradientMap(stepTensorsOf(saved), asArray(dys), stepAttrs));
  },
};

for (const config of [elementwiseAttentionGradConfig, elementwiseAttentionStepGradConfig]) {
  tf.registerGradient(config);
}
