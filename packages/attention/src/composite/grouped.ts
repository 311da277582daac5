import { type GroupFeatures, groupFeatures } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardTensors, type StepTensors, stepAsSequence } from '../contract_tensors.js';
import { isRecordingGradients } from '../gradient_recording.js';
import type { AttentionOrder } from '../kernel_names.js';
import { valueScaleDown, valuesFitUnscaled } from '../value_scale.js';
import { keyMask, logWeights, visibleRows, weightedMean } from './grouped_weights.js';
import { isZeroDenominator } from './safe_divide.js';
import { withoutGradient } from './without_gradient.js';

/**
 * Grouped element-wise attention from plain tfjs ops (`@elementwise/math` grouped.ts has the
 * definition): groups of d channels weigh keys by `exp(-|q̂ - k̂|²)` over the group, with
 * q̂ = q/√d and k̂ = k/√d (the mean squared distance), or by the series `e^{-|k̂|²} T_t(2q̂·k̂)`.
 * A call without a state runs ./grouped_weights.ts, whose gradient recomputes the weights; with a
 * state, tfjs differentiates the ops below.
 *
 * The parallel form computes the [B, G, Lq, L] weights of every group directly: with groups of
 * d >= 2 the state has C(d + t, t) features per channel, and a scan over them costs more than the
 * quadratic weights up to contexts far beyond the ones this form is trained at. The state (in
 * and out) and the step use the features, so the step stays O(F·D) per token.
 */

/** [B, L, D] -> [B, G, L, d]. */
function byGroup(x: tf.Tensor, groupSize: number): tf.Tensor4D {
  const [batch, length, channels] = x.shape as [number, number, number];
  const grouped = tf.reshape(x, [batch, length, channels / groupSize, groupSize]);
  return tf.transpose(grouped, [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, G, L, d] -> [B, L, D]. */
function fromGroups(x: tf.Tensor): tf.Tensor3D {
  const [batch, groups, length, groupSize] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch, length, groups * groupSize]);
}

/** State s [B, F, D] -> [B, G, F, d]; z [B, F, G] -> [B, G, F, 1]. */
function stateByGroup(s: tf.Tensor, z: tf.Tensor, groupSize: number): [tf.Tensor4D, tf.Tensor4D] {
  const [batch, size, channels] = s.shape as [number, number, number];
  const groups = channels / groupSize;
  const sGroups = tf.transpose(tf.reshape(s, [batch, size, groups, groupSize]), [0, 2, 1, 3]);
  const zGroups = tf.reshape(tf.transpose(z, [0, 2, 1]), [batch, groups, size, 1]) as tf.Tensor4D;
  return [sGroups as tf.Tensor4D, zGroups];
}

/** [B, G, F, d] -> s [B, F, D]; [B, G, F, 1] -> z [B, F, G]. */
function stateFromGroups(s: tf.Tensor, z: tf.Tensor): [tf.Tensor3D, tf.Tensor3D] {
  const [batch, groups, size, groupSize] = s.shape as [number, number, number, number];
  const sOut = tf.reshape(tf.transpose(s, [0, 2, 1, 3]), [batch, size, groups * groupSize]);
  const zOut = tf.transpose(tf.reshape(z, [batch, groups, size]), [0, 2, 1]);
  return [sOut as tf.Tensor3D, zOut as tf.Tensor3D];
}

/**
 * Every monomial x^α of the last axis (d values), [..., d] -> [..., F], degree by degree: each
 * level is (parents) × (one variable). Outside a gradient computation (generation steps) both
 * are gathered; inside one they are picked by 0/1 matrices, because matMul has a gradient on every
 * backend where gather's needs a kernel tfjs-wasm lacks.
 */
export function monomialFeatures(x: tf.Tensor, features: GroupFeatures): tf.Tensor {
  return tf.tidy(() => {
    const shape = x.shape.slice(0, -1);
    const rows = shape.reduce((a, b) => a * b, 1);
    const flat = tf.reshape(x, [rows, features.groupSize]);
    const gather = !isRecordingGradients();
    let all: tf.Tensor2D = tf.ones([rows, 1]);
    for (const level of featureLevels(features)) {
      const parents = gather
        ? tf.gather(all, tf.tensor1d(level.parents, 'int32'), 1)
        : tf.matMul(all, tf.tensor2d(level.parentPick, [all.shape[1], level.size]));
      const variables = gather
        ? tf.gather(flat, tf.tensor1d(level.variables, 'int32'), 1)
        : tf.matMul(flat, tf.tensor2d(level.variablePick, [features.groupSize, level.size]));
      all = tf.concat([all, tf.mul(parents, variables)], 1) as tf.Tensor2D;
    }
    return tf.reshape(all, [...shape, features.size]);
  });
}

/** One degree of the monomials: which feature and which variable each one multiplies. */
interface FeatureLevel {
  size: number;
  parents: Int32Array;
  variables: Int32Array;
  /** The same choices as 0/1 matrices [features so far, size] and [d, size]. */
  parentPick: Float32Array;
  variablePick: Float32Array;
}

/** Per (d, t): built once, as plain arrays (a cached tensor would outlive every tidy). */
const LEVELS = new Map<string, FeatureLevel[]>();

function featureLevels(features: GroupFeatures): FeatureLevel[] {
  const key = `${features.groupSize},${features.order}`;
  const cached = LEVELS.get(key);
  if (cached) return cached;
  const levels: FeatureLevel[] = [];
  let start = 1;
  for (let n = 1; n <= features.order; n++) {
    let end = start;
    while (end < features.size && features.degree[end] === n) end++;
    const size = end - start;
    const parents = features.parent.slice(start, end);
    const variables = features.variable.slice(start, end);
    const parentPick = new Float32Array(start * size);
    const variablePick = new Float32Array(features.groupSize * size);
    for (let f = 0; f < size; f++) {
      parentPick[parents[f] * size + f] = 1;
      variablePick[variables[f] * size + f] = 1;
    }
    levels.push({ size, parents, variables, parentPick, variablePick });
    start = end;
  }
  LEVELS.set(key, levels);
  return levels;
}

/** The query side `a_α q^α`, [..., F]. */
function queryFeatures(q: tf.Tensor, features: GroupFeatures): tf.Tensor {
  return tf.mul(
    monomialFeatures(q, features),
    tf.tensor1d(Float32Array.from(features.coefficient)),
  );
}

/** Which keys each query sees, [B, 1, Lq, L] as 0/1: the mask, and j <= i when causal. */
function visibility(mask: tf.Tensor2D, queries: number, causal: boolean): tf.Tensor4D {
  return visibleRows(keyMask(mask), 0, queries, causal) as tf.Tensor4D;
}

const HIDDEN_LOGIT = -1e30;

/** N / M, and 0 (with no gradient) where M counts as zero: the contract's zero-denominator rule. */
function divideOrZero(numerator: tf.Tensor, denominator: tf.Tensor): tf.Tensor {
  const zero = withoutGradient([denominator], () => isZeroDenominator(denominator));
  const quotient = tf.div(numerator, tf.where(zero, tf.onesLike(denominator), denominator));
  return tf.where(tf.broadcastTo(zero, quotient.shape), tf.zerosLike(quotient), quotient);
}

/**
 * The per-query shift c_i: the largest visible log-weight, so the nearest key weighs exactly 1
 * and no visible weight under- or overflows (0 for a query that sees no key). y does not depend
 * on it. Where the initial state enters scaled by e^{-c}, c is raised so that stays below e^80.
 */
function queryShift(hidden: tf.Tensor, seen: tf.Tensor, state: tf.Tensor[]): tf.Tensor {
  const nearest = tf.max(hidden, -1, true);
  const anySeen = tf.greater(tf.max(seen, -1, true), 0);
  let shift = tf.where(anySeen, nearest, tf.zerosLike(nearest));
  if (state.length > 0) {
    const largest = state
      .map((x) => tf.max(tf.abs(x), [2, 3], true))
      .reduce((a, b) => tf.maximum(a, b));
    const floor = tf.sub(tf.log(largest), 80);
    shift = tf.maximum(
      shift,
      tf.where(tf.greater(largest, 0), floor, tf.fill(floor.shape, -Infinity)),
    );
  }
  return shift;
}

/**
 * Which state paths a call needs. The F features per channel cost more than the weights
 * themselves (d = 16, t = 2: F = 153), and tfjs would also differentiate the products with a zero
 * state, so a training call that passes no state and returns none skips them.
 */
export interface StateUse {
  /** The caller passed an initial state (else it is zeros and does not enter). */
  initial: boolean;
  /** The caller wants the final state (else the initial state is returned in its place, unread). */
  final: boolean;
}

/** How a grouped call runs: its order, channels per group, causality and the state it uses. */
export interface GroupedCall {
  order: AttentionOrder;
  groupSize: number;
  causal: boolean;
  use: StateUse;
}

/** Forward: [y [B, Lq, D], finalS [B, F, D], finalZ [B, F, G]]. */
export function groupedForwardComposite(
  inputs: ForwardTensors,
  call: GroupedCall,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const { use } = call;
  return tf.tidy(() => {
    // Huge values are divided by a power of two per channel, as around the per-channel kernels
    // (../value_scale.ts), and y and the final s multiplied back: both are linear in v and s0.
    // The scale is off the gradient tape.
    // A state that is not used (zeros) is left alone: with F = C(d + t, t) features it is the
    // largest tensor of the call (d = 8, t = 6: 3003 · D per sequence).
    const state = use.initial ? [inputs.initialS] : [];
    const values = { v: inputs.v, mask: inputs.mask, s: state[0] ?? tf.zeros([0, 0, 0]) };
    // Where the host shows that no value is huge (cpu, wasm), no op is spent on the scale.
    const down = valuesFitUnscaled(values)
      ? tf.ones([1, 1, 1])
      : withoutGradient([inputs.v, ...state], () => valueScaleDown(values));
    const up = tf.reciprocal(down);
    const initialS = use.initial ? tf.mul(inputs.initialS, down) : inputs.initialS;
    const [y, finalS, finalZ] = scaledForward(
      { ...inputs, v: tf.mul(inputs.v, down) as tf.Tensor3D, initialS: initialS as tf.Tensor3D },
      call,
    );
    const stateOut = use.final ? tf.mul(finalS, up) : finalS;
    return [tf.mul(y, up), stateOut, finalZ] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  });
}

/** {@link groupedForwardComposite} on values that cannot overflow float32 moments. */
function scaledForward(
  inputs: ForwardTensors,
  call: GroupedCall,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const { order, groupSize, causal, use } = call;
  // q/√d and k/√d: their summed squared distance is the group's mean (math/grouped.ts).
  const scale = 1 / Math.sqrt(groupSize);
  const q = byGroup(tf.mul(inputs.q, scale), groupSize);
  const k = byGroup(tf.mul(inputs.k, scale), groupSize);
  const v = byGroup(inputs.v, groupSize);
  if (!use.initial) {
    // No state enters y: the weighted mean with its own, recomputing gradient.
    const y = fromGroups(weightedMean(q, k, v, keyMask(inputs.mask), causal, order));
    if (order === 'exact' || !use.final) {
      // Placeholders the op discards: clones share the initial state's data and cost nothing.
      return [y, tf.clone(inputs.initialS), tf.clone(inputs.initialZ)];
    }
    const [finalS, finalZ] = finalState(k, v, inputs, groupFeatures(groupSize, order));
    return [y, finalS, finalZ];
  }
  if (order === 'exact') throw new Error("order 'exact' has no state");
  const seen = visibility(inputs.mask, q.shape[2], causal);
  const logits = logWeights(q, k, order);
  const hidden = tf.where(tf.cast(seen, 'bool'), logits, tf.fill(logits.shape, HIDDEN_LOGIT));
  const features = groupFeatures(groupSize, order);
  const [s0, z0] = stateByGroup(inputs.initialS, inputs.initialZ, groupSize);
  const shift = withoutGradient([hidden, s0, z0], () => queryShift(hidden, seen, [s0, z0]));
  const w = tf.mul(tf.exp(tf.sub(hidden, shift)), seen);
  // The initial state enters as Σ_α a_α q^α s0_α, times the same e^{-c} as the weights.
  const qFeatures = tf.mul(queryFeatures(q, features), tf.exp(tf.neg(shift)));
  const numerator = tf.add(tf.matMul(w, v), tf.matMul(qFeatures, s0));
  const denominator = tf.add(tf.sum(w, -1, true), tf.matMul(qFeatures, z0));
  const y = fromGroups(divideOrZero(numerator, denominator));
  if (!use.final) {
    // Placeholders the op discards: clones share the initial state's data and cost nothing.
    return [y, tf.clone(inputs.initialS), tf.clone(inputs.initialZ)];
  }
  const [finalS, finalZ] = finalState(k, v, inputs, features);
  return [y, finalS, finalZ];
}

/** s0 + Σ_j f(k_j) v_j and z0 + Σ_j f(k_j) with f(k) = k̂^α e^{-|k̂|²} m_j, as s [B, F, D], z [B, F, G]. */
function finalState(
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  inputs: ForwardTensors,
  features: GroupFeatures,
): [tf.Tensor3D, tf.Tensor3D] {
  const [s0, z0] = stateByGroup(inputs.initialS, inputs.initialZ, features.groupSize);
  const [batch, groups, keys] = k.shape;
  const keep = tf.reshape(tf.cast(tf.notEqual(inputs.mask, 0), 'float32'), [batch, 1, keys, 1]);
  const decay = tf.mul(tf.exp(tf.neg(tf.sum(tf.square(k), -1, true))), keep);
  const kFeatures = tf.mul(monomialFeatures(k, features), decay);
  const sFinal = tf.add(s0, tf.matMul(kFeatures, v, true, false));
  const zFinal = tf.add(z0, tf.reshape(tf.sum(kFeatures, 2), [batch, groups, features.size, 1]));
  return stateFromGroups(sFinal, zFinal);
}

/** One recurrent step: [y [B, D], s' [B, F, D], z' [B, F, G]]. */
export function groupedStepComposite(
  inputs: StepTensors,
  order: number,
  groupSize: number,
): [tf.Tensor2D, tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const [batch, channels] = inputs.q.shape;
    const [y, sNext, zNext] = groupedForwardComposite(stepAsSequence(inputs), {
      order,
      groupSize,
      causal: true,
      use: { initial: true, final: true },
    });
    return [tf.reshape(y, [batch, channels]) as tf.Tensor2D, sNext, zNext];
  });
}
