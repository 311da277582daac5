import * as tf from '@tensorflow/tfjs-core';
import { forwardGradientMap } from '../backward.js';
import { groupedForward } from '../composite/grouped_blocks.js';
import { compositeForward } from '../composite/kernels.js';
import { runContractKernel } from '../contract_kernel.js';
import { type ForwardTensors, forwardTensorsOf } from '../contract_tensors.js';
import { checkGroupSize, checkGroupsDivide, stateShapes } from '../group_size.js';
import { type AttentionOrder, ElementwiseAttentionForward } from '../kernel_names.js';
import { booleanOption, checkOptions } from '../options.js';
import type { AttentionState } from '../state.js';
import {
  checkFloatTensor,
  checkMask,
  checkOrder,
  checkShape,
  checkState,
  fail,
  formatShape,
  type TensorInput,
} from '../validation.js';

const OP = 'elementwiseAttention';

export interface ElementwiseAttentionOptions {
  /** Highest Taylor degree t (even, >= 0), or `'exact'` for quadratic exact EA. Default 6. */
  order?: AttentionOrder;
  /** Query i sees keys j <= i. Requires as many queries as keys. Default false. */
  causal?: boolean;
  /** Key padding mask [B, L] (or [L]); nonzero = visible. */
  mask?: TensorInput;
  /** Moments before the first key, [B, t+1, D] each (series orders only). */
  initialState?: AttentionState;
  /** Also return the state after the last key, to continue with `step` or the next chunk. */
  returnFinalState?: boolean;
  /**
   * Channels per similarity group, d (must divide D). Default 1: the paper's per-channel EA.
   * d > 1 weighs keys by `exp(-|q - k|²)` summed over each group of d channels, with
   * C(d + t, t) Taylor features per channel in the state (s [B, F, D], z [B, F, D/d]).
   */
  groupSize?: number;
}

export type ElementwiseAttentionResult = {
  y: tf.Tensor;
  finalState: AttentionState;
};

const OPTION_NAMES = [
  'order',
  'causal',
  'mask',
  'initialState',
  'returnFinalState',
  'groupSize',
] as const;

/**
 * Element-wise attention (Feng 2025): per channel c,
 * `y_ic = Σ_j w_ijc v_jc / Σ_j w_ijc` with `w_ijc = exp(-(q_ic - k_jc)²)`, where `e^{2qk}` is
 * replaced by its Taylor polynomial of degree `order` (O(t·L·D) time) unless `order: 'exact'`.
 *
 * Shapes: q [B, Lq, D], k and v [B, L, D] (or all without the batch axis). Runs the active
 * backend's fused kernel when one is registered, a composite of tfjs ops otherwise; both are
 * differentiable with respect to q, k, v and the initial state.
 */
export function elementwiseAttention(
  q: TensorInput,
  k: TensorInput,
  v: TensorInput,
  options: ElementwiseAttentionOptions & { returnFinalState: true },
): ElementwiseAttentionResult;
export function elementwiseAttention(
  q: TensorInput,
  k: TensorInput,
  v: TensorInput,
  options?: ElementwiseAttentionOptions,
): tf.Tensor;
export function elementwiseAttention(
  q: TensorInput,
  k: TensorInput,
  v: TensorInput,
  optionsIn?: ElementwiseAttentionOptions,
): tf.Tensor | ElementwiseAttentionResult {
  const options = checkOptions<ElementwiseAttentionOptions>(OP, optionsIn, OPTION_NAMES);
  const order = checkOrder(OP, options.order ?? 6);
  const causal = booleanOption(OP, 'options.causal', options.causal, false);
  const returnFinalState = booleanOption(
    OP,
    'options.returnFinalState',
    options.returnFinalState,
    false,
  );
  const groupSize = checkGroupSize(OP, options.groupSize, order);

  const result = tf.tidy(() => {
    const { inputs, batched } = prepareInputs(q, k, v, options, order, causal, groupSize);
    const [y, finalS, finalZ] =
      groupSize === 1
        ? runForward(inputs, order, causal)
        : groupedForward(inputs, {
            order,
            groupSize,
            causal,
            use: { initial: options.initialState != null, final: returnFinalState },
          });
    const unbatch = (x: tf.Tensor) => (batched ? x : tf.squeeze(x, [0]));
    return { y: unbatch(y), s: unbatch(finalS), z: unbatch(finalZ) };
  });
  if (returnFinalState) return { y: result.y, finalState: { s: result.s, z: result.z } };
  result.s.dispose();
  result.z.dispose();
  return result.y;
}

/** The contract's forward kernel, fused where registered, with huge values scaled around it. */
function runForward(inputs: ForwardTensors, order: AttentionOrder, causal: boolean): tf.Tensor[] {
  return runContractKernel({
    kernelName: ElementwiseAttentionForward,
    inputs,
    attrs: { order, causal },
    composite: (x) => compositeForward(x, order, causal),
    gradients: (x, dys) => forwardGradientMap(x, dys, { order, causal }),
    fromSaved: forwardTensorsOf,
    scaling: {
      names: { v: 'v', s: 'initialS', mask: 'mask' },
      linearGradients: ['q', 'k', 'initialZ'],
    },
  });
}

/**
 * Validates the arguments and builds the contract's six inputs: batched rank-3 tensors, a
 * float 0/1 mask (ones by default) and an initial state (zeros by default).
 */
function prepareInputs(
  qIn: TensorInput,
  kIn: TensorInput,
  vIn: TensorInput,
  options: ElementwiseAttentionOptions,
  order: AttentionOrder,
  causal: boolean,
  groupSize: number,
): { inputs: ForwardTensors; batched: boolean } {
  let q = checkFloatTensor(OP, 'q', qIn);
  let k = checkFloatTensor(OP, 'k', kIn);
  let v = checkFloatTensor(OP, 'v', vIn);
  if (q.rank !== 3 && q.rank !== 2) {
    fail(OP, `q must have shape [B, Lq, D] (or [Lq, D]), got ${formatShape(q.shape)}`);
  }
  const batched = q.rank === 3;
  if (!batched) {
    if (k.rank !== 2) fail(OP, `k must have rank 2 [L, D] like q, got ${formatShape(k.shape)}`);
    [q, k, v] = [q, k, v].map((x) => tf.expandDims(x, 0));
  }
  const [batch, queries, channels] = q.shape as [number, number, number];
  const prefix = batched ? '' : 'unbatched ';
  if (k.rank !== 3 || k.shape[0] !== batch || k.shape[2] !== channels) {
    const got = batched ? k.shape : k.shape.slice(1);
    const expected = batched ? `[${batch}, L, ${channels}]` : `[L, ${channels}]`;
    fail(
      OP,
      `k must have shape ${expected} to match ${prefix}q ${formatShape(batched ? q.shape : q.shape.slice(1))}, got ${formatShape(got)}`,
    );
  }
  const keys = k.shape[1] as number;
  const drop = (shape: number[]) => (batched ? shape : shape.slice(1));
  checkShape(OP, 'v', drop(v.shape), drop(k.shape), 'the shape of k');
  if (queries === 0 || keys === 0 || channels === 0) {
    fail(
      OP,
      `sequences must be non-empty, got q ${formatShape(drop(q.shape))} and k ${formatShape(drop(k.shape))}`,
    );
  }
  checkGroupsDivide(OP, groupSize, channels);
  if (causal && queries !== keys) {
    fail(OP, `causal attention needs as many queries as keys, got Lq = ${queries} and L = ${keys}`);
  }

  const maskShape = batched ? [batch, keys] : [keys];
  const mask =
    options.mask == null
      ? tf.ones([batch, keys])
      : tf.reshape(checkMask(OP, options.mask, maskShape), [batch, keys]);

  let initialS: tf.Tensor;
  let initialZ: tf.Tensor;
  if (options.initialState == null) {
    const shapes =
      order === 'exact'
        ? { s: [0, channels], z: [0, channels / groupSize] }
        : stateShapes(order, groupSize, channels);
    initialS = tf.zeros([batch, ...shapes.s]);
    initialZ = tf.zeros([batch, ...shapes.z]);
  } else {
    if (order === 'exact') {
      fail(OP, "initialState is only defined for series orders; order 'exact' has no state");
    }
    const { initialState } = options;
    [initialS, initialZ] = checkState(
      OP,
      'initialState',
      initialState,
      order,
      batch,
      channels,
      batched,
      groupSize,
    );
  }
  return {
    inputs: forwardTensorsOf([q, k, v, mask, initialS, initialZ]),
    batched,
  };
}
