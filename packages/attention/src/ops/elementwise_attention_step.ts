import * as tf from '@tensorflow/tfjs-core';
import { groupedStepComposite } from '../composite/grouped.js';
import { stepForward } from '../composite/step.js';
import { runContractKernel } from '../contract_kernel.js';
import { type StepTensors, stepTensorsOf } from '../contract_tensors.js';
import { hasFusedKernel, runFusedKernel } from '../dispatch.js';
import { isRecordingGradients } from '../gradient_recording.js';
import { checkGroupSize, checkGroupsDivide } from '../group_size.js';
import {
  asKernelArgs,
  ElementwiseAttentionGroupedStep,
  ElementwiseAttentionStep,
} from '../kernel_names.js';
import { checkOptions } from '../options.js';
import type { AttentionState } from '../state.js';
import { stepGradientMap } from '../step_backward.js';
import {
  checkFloatTensor,
  checkOrder,
  checkShape,
  checkState,
  fail,
  formatShape,
  type TensorInput,
} from '../validation.js';
import { valuesFitUnscaled } from '../value_scale.js';

const OP = 'elementwiseAttentionStep';

export interface ElementwiseAttentionStepOptions {
  /** Highest Taylor degree t (even, >= 0). Default 6. `'exact'` has no recurrent form. */
  order?: number;
  /** Channels per similarity group, as in `elementwiseAttention`. Default 1. */
  groupSize?: number;
}

export type ElementwiseAttentionStepResult = {
  /** [B, D] (or [D]) */
  y: tf.Tensor;
  /** The state after this token; the input state is left untouched. */
  state: AttentionState;
};

/**
 * One token of causal EA as an RNN: folds (k, v) into the state and reads it with q, in
 * O(t·D) time and memory per sequence whatever the position. Equal to the causal
 * `elementwiseAttention` at the same position. q, k, v are [B, D] (or [D]); the state is
 * [B, t+1, D] (or [t+1, D]).
 */
export function elementwiseAttentionStep(
  q: TensorInput,
  k: TensorInput,
  v: TensorInput,
  state: AttentionState,
  optionsIn?: ElementwiseAttentionStepOptions,
): ElementwiseAttentionStepResult {
  const options = checkOptions<ElementwiseAttentionStepOptions>(OP, optionsIn, [
    'order',
    'groupSize',
  ]);
  if ((options.order as unknown) === 'exact') {
    fail(OP, "order 'exact' has no recurrent form; use elementwiseAttention with causal: true");
  }
  const order = checkOrder(OP, options.order ?? 6, false) as number;
  const groupSize = checkGroupSize(OP, options.groupSize, order);
  const [y, s, z] = tf.tidy(() => {
    const { inputs, batched } = prepareStepInputs(q, k, v, state, order, groupSize);
    const outputs =
      groupSize > 1 ? runGroupedStep(inputs, order, groupSize) : runStep(inputs, order);
    return batched ? outputs : outputs.map((x) => tf.squeeze(x, [0]));
  });
  return { y, state: { s, z } };
}

/** The contract's step kernel, fused where registered, with huge values scaled around it. */
function runStep(inputs: StepTensors, order: number): tf.Tensor[] {
  return runContractKernel({
    kernelName: ElementwiseAttentionStep,
    inputs,
    attrs: { order },
    composite: (x) => stepForward(x, order),
    gradients: (x, dys) => stepGradientMap(x, dys, { order }),
    fromSaved: stepTensorsOf,
    scaling: { names: { v: 'v', s: 's', mask: null }, linearGradients: ['q', 'k', 'z'] },
  });
}

/**
 * The contract's grouped step kernel where the backend registered one, else the composite step.
 * The kernel has no gradient of its own and never sees huge values: generation, where it pays,
 * records no gradient, and under one tfjs differentiates the composite's ops, which also scale
 * huge values themselves.
 */
function runGroupedStep(inputs: StepTensors, order: number, groupSize: number): tf.Tensor[] {
  const fused =
    hasFusedKernel(ElementwiseAttentionGroupedStep) &&
    !isRecordingGradients() &&
    valuesFitUnscaled({ v: inputs.v, mask: null, s: inputs.s });
  if (fused) {
    return runFusedKernel(
      ElementwiseAttentionGroupedStep,
      ...asKernelArgs(inputs, { order, groupSize }),
    );
  }
  return groupedStepComposite(inputs, order, groupSize);
}

function prepareStepInputs(
  qIn: TensorInput,
  kIn: TensorInput,
  vIn: TensorInput,
  state: AttentionState,
  order: number,
  groupSize: number,
): { inputs: StepTensors; batched: boolean } {
  let q = checkFloatTensor(OP, 'q', qIn);
  if (q.rank !== 2 && q.rank !== 1)
    fail(OP, `q must have shape [B, D] (or [D]), got ${formatShape(q.shape)}`);
  const batched = q.rank === 2;
  const [batch, channels] = batched ? (q.shape as [number, number]) : [1, q.shape[0] as number];
  const symbolic = batched ? '[B, D] like q' : '[D] like q';
  let k = checkFloatTensor(OP, 'k', kIn);
  let v = checkFloatTensor(OP, 'v', vIn);
  checkShape(OP, 'k', k.shape, q.shape, symbolic);
  checkShape(OP, 'v', v.shape, q.shape, symbolic);
  if (channels === 0) fail(OP, `q must have at least one channel, got ${formatShape(q.shape)}`);
  checkGroupsDivide(OP, groupSize, channels);
  const [s, z] = checkState(OP, 'state', state, order, batch, channels, batched, groupSize);
  if (!batched) {
    [q, k, v] = [q, k, v].map((x) => tf.expandDims(x, 0));
  }
  return {
    inputs: stepTensorsOf([q, k, v, s, z]),
    batched,
  };
}
