import * as tf from '@tensorflow/tfjs-core';
import { runWithCustomGradient } from '../dispatch.js';

/**
 * Runs `compute` off the gradient tape and passes no gradient back to `inputs`: for quantities
 * the output does not depend on (a common factor that cancels) or that only choose a branch (a
 * zero test), built from ops tfjs cannot differentiate (`less`, `isFinite`).
 */
export function withoutGradient(inputs: tf.Tensor[], compute: () => tf.Tensor): tf.Tensor {
  const named = Object.fromEntries(inputs.map((x, i) => [`input${i}`, x]));
  const [out] = runWithCustomGradient(
    named,
    () => [compute()],
    (_dys, saved) => Object.fromEntries(saved.map((x, i) => [`input${i}`, tf.zerosLike(x)])),
  );
  return out;
}
