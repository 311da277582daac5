import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether a `tf.grad` / `tf.variableGrads` computation is running, so that a backward will be
 * needed: a custom gradient (and the tensors it saves) is only overhead outside one.
 */
export function isRecordingGradients(): boolean {
  // tfjs has no public "is a gradient being recorded" query; its engine state says so.
  return tf.engine().state.gradientDepth > 0;
}
