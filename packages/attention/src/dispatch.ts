import type { NamedAttrMap, NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend registered a fused kernel of this name. */
export function hasFusedKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) != null;
}

/** Runs a registered kernel and returns its outputs as tensors. */
export function runFusedKernel(
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): tf.Tensor[] {
  const outputs = tf.engine().runKernel(kernelName, inputs as tf.NamedTensorMap, attrs);
  return Array.isArray(outputs) ? outputs : [outputs];
}

/** Hands the engine the tensors the backward will receive as `saved`. */
type SaveFunc = (tensors: tf.Tensor[]) => void;

interface CustomKernelParams {
  forwardFunc: (backend: unknown, save: SaveFunc) => tf.Tensor[];
  backwardsFunc: (
    dys: tf.Tensor | tf.Tensor[],
    saved: tf.Tensor[],
  ) => Record<string, () => tf.Tensor>;
  inputs: Record<string, tf.Tensor>;
}

/**
 * Records a composite computation with several outputs and its own backward on the gradient
 * tape as one node. `tf.customGrad` does the same for a single output only; the ops' forwards
 * return y and the final state and must backpropagate through both, so this calls the engine
 * method that `customGrad` is built on. `forward` chooses what to save; `backward` gets the
 * cotangents of every output as an array and returns a gradient for each input name.
 */
export function runCustomKernel(
  inputs: Record<string, tf.Tensor>,
  forward: (save: SaveFunc) => tf.Tensor[],
  backward: (dys: tf.Tensor[], saved: tf.Tensor[]) => Record<string, tf.Tensor>,
): tf.Tensor[] {
  const names = Object.keys(inputs);
  const engine = tf.engine() as unknown as {
    runKernelFunc(params: CustomKernelParams): tf.Tensor | tf.Tensor[];
  };
  const outputs = engine.runKernelFunc({
    inputs,
    forwardFunc: (_backend, save) => forward(save),
    backwardsFunc: (dys, saved) => {
      const grads = backward(Array.isArray(dys) ? dys : [dys], saved);
      return Object.fromEntries(names.map((name) => [name, () => grads[name]]));
    },
  });
  return Array.isArray(outputs) ? outputs : [outputs];
}

/** {@link runCustomKernel} that saves the inputs, in their order, for the backward. */
export function runWithCustomGradient(
  inputs: Record<string, tf.Tensor>,
  forward: () => tf.Tensor[],
  backward: (dys: tf.Tensor[], saved: tf.Tensor[]) => Record<string, tf.Tensor>,
): tf.Tensor[] {
  const names = Object.keys(inputs);
  return runCustomKernel(
    inputs,
    (save) => {
      save(names.map((name) => inputs[name]));
      return forward();
    },
    backward,
  );
}
