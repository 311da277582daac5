import type * as tf from '@tensorflow/tfjs-core';
import { hasFusedKernel, runFusedKernel, runWithCustomGradient } from './dispatch.js';
import { runValueScaled, type ValueScaledCall, valuesFitUnscaled } from './value_scale.js';

/** One call of a contract kernel that has a gradient: the forward or the step. */
export interface ContractKernelCall<Inputs extends Record<string, tf.Tensor>> {
  kernelName: string;
  inputs: Inputs;
  attrs: tf.NamedAttrMap;
  /** The composite implementation, where the backend registered no kernel. */
  composite: (inputs: Inputs) => tf.Tensor[];
  /** The inputs' gradients, from the outputs' (`dys`). */
  gradients: (inputs: Inputs, dys: tf.Tensor[]) => Record<string, tf.Tensor>;
  /** The inputs back from the tensors the gradient saved, in the contract's order. */
  fromSaved: (saved: tf.Tensor[]) => Inputs;
  /** Which inputs the value scale reads, and whose gradients it leaves unscaled. */
  scaling: Pick<ValueScaledCall, 'names' | 'linearGradients'>;
}

/**
 * Runs the contract's kernel (fused where registered, the composite otherwise) with huge values
 * scaled around it (value_scale.ts); where the host shows that none is huge, the kernel runs
 * exactly as it would without that rule. A fused kernel's gradient is registered; the
 * composite's is attached here.
 */
export function runContractKernel<Inputs extends Record<string, tf.Tensor>>(
  call: ContractKernelCall<Inputs>,
): tf.Tensor[] {
  const { kernelName, inputs, attrs, composite, gradients, scaling } = call;
  const fused = hasFusedKernel(kernelName);
  const kernel = (x: Inputs) => (fused ? runFusedKernel(kernelName, x, attrs) : composite(x));
  const { names } = scaling;
  const mask = names.mask === null ? null : inputs[names.mask];
  if (!valuesFitUnscaled({ v: inputs[names.v], mask, s: inputs[names.s] })) {
    return runValueScaled({
      ...scaling,
      inputs: { ...inputs },
      forward: (x) => kernel(x as Inputs),
      backward: (x, dys) => gradients(x as Inputs, dys),
    });
  }
  if (fused) return kernel(inputs);
  return runWithCustomGradient(
    { ...inputs },
    () => kernel(inputs),
    (dys, saved) => gradients(call.fromSaved(saved), dys),
  );
}
