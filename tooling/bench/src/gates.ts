import {
  elementwiseAttention,
  type SoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import {
  centralDifferenceGradient,
  eaBackward,
  eaForward,
  relativeRmsError,
  selfAttentionDims,
  softmaxAttention64,
  softmaxAttentionRows64,
  softmaxLoss64,
} from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { type AttentionInputs, disposeInputs, makeInputs } from './inputs.js';

/**
 * Correctness gates run before anything is timed: a speed-up of a wrong answer means nothing.
 * All errors are relative RMS, ‖ref − got‖₂ / ‖ref‖₂, against float64 references.
 */

/** float32 forward vs a float64 reference. */
export const FORWARD_TOLERANCE = 1e-5;
/** float32 gradients vs float64 ones (measured errors are around 1e-7 for both). */
export const GRADIENT_TOLERANCE = 1e-5;

export class GateError extends Error {
  override name = 'GateError';
}

function require(condition: boolean, message: string): void {
  if (!condition) throw new GateError(message);
}

function formatError(error: number): string {
  return error.toExponential(1);
}

/** The loss every backward in the benchmark differentiates: Σ y ⊙ g with a fixed cotangent g. */
export function lossGradients(
  attention: (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor,
  inputs: AttentionInputs,
): tf.Tensor[] {
  const loss = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    tf.sum(
      tf.mul(attention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D), inputs.cotangent),
    );
  return tf.grads(loss)([inputs.q, inputs.k, inputs.v]);
}

export interface EaPrefixCheck {
  positions: number;
  error: number;
}

/**
 * Checks the first `positions` outputs of a causal EA run against the float64 oracle run on the
 * same prefix: causal output i depends on keys up to i only, so a prefix is an exact slice of
 * the long computation, including the float32 drift of its first `positions` prefix sums.
 */
export function checkEaPrefix(
  y: tf.Tensor,
  inputs: AttentionInputs,
  order: number,
  positions: number,
): EaPrefixCheck {
  const [batch, length, channels] = inputs.q.shape;
  const n = Math.min(positions, length);
  const prefix = (x: tf.Tensor) =>
    tf.tidy(() => tf.slice(x, [0, 0, 0], [batch, n, channels]).dataSync());
  const reference = eaForward(
    {
      q: prefix(inputs.q),
      k: prefix(inputs.k),
      v: prefix(inputs.v),
      dims: { batch, queryLength: n, keyLength: n, channels },
    },
    { order, causal: true },
  ).y;
  const error = relativeRmsError(reference, prefix(y));
  require(error <=
    FORWARD_TOLERANCE, `EA-${order} composite output on ${tf.getBackend()} (L = ${length}, first ${n} positions) differs from the float64 oracle: relative RMS ${formatError(error)} > ${FORWARD_TOLERANCE}`);
  return { positions: n, error };
}

/**
 * Spot-checks a long softmax-attention output: its first and last `count` query rows against
 * float64 (the last rows see every key, so every query block's mask and offsets are exercised).
 */
export function checkSoftmaxRows(y: tf.Tensor, inputs: AttentionInputs, count = 8): number {
  const [batch, length, channels] = inputs.q.shape;
  const rows = [
    ...new Set([
      ...Array(count).keys(),
      ...Array.from({ length: count }, (_, i) => length - count + i),
    ]),
  ]
    .filter((row) => row >= 0 && row < length)
    .sort((a, b) => a - b);
  const reference = softmaxAttentionRows64(
    inputs.q.dataSync(),
    inputs.k.dataSync(),
    inputs.v.dataSync(),
    selfAttentionDims(batch, length, channels),
    true,
    rows,
  );
  const values = y.dataSync();
  const got = new Float32Array(reference.length);
  for (let b = 0; b < batch; b++) {
    rows.forEach((row, r) => {
      const from = (b * length + row) * channels;
      got.set(values.subarray(from, from + channels), (b * rows.length + r) * channels);
    });
  }
  const error = relativeRmsError(reference, got);
  require(error <=
    FORWARD_TOLERANCE, `softmax attention on ${tf.getBackend()} (L = ${length}, rows ${rows[0]}..${rows[rows.length - 1]}) differs from float64: relative RMS ${formatError(error)} > ${FORWARD_TOLERANCE}`);
  return error;
}

export interface GradientCheck {
  forward: number;
  dq: number;
  dk: number;
  dv: number;
}

/** Causal EA of one order: the op every benchmark times. */
export function causalEa(order: number) {
  return (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
    elementwiseAttention(q, k, v, { order, causal: true }) as tf.Tensor3D;
}

export interface GateShape {
  batch: number;
  length: number;
  channels: number;
  seed: number;
}

/** Runs a computation as it is; a gate's `within` may instead swap the kernels around it. */
const asIs = <T>(body: () => T): T => body();

/**
 * Causal EA forward and gradients, on inputs of this shape, against eaForward / eaBackward:
 * throws a GateError above the tolerances. `within` runs the computation (forward and backward
 * alike), e.g. with a backend's fused kernels unregistered so that the composite is checked.
 */
export async function checkEaOracle(
  what: string,
  shape: GateShape,
  order: number,
  within: <T>(body: () => T) => T = asIs,
): Promise<GradientCheck> {
  const { batch, length, channels, seed } = shape;
  const inputs = makeInputs(batch, length, channels, seed);
  try {
    const [q, k, v, g] = await Promise.all(
      [inputs.q, inputs.k, inputs.v, inputs.cotangent].map((x) => x.data()),
    );
    const oracle = { q, k, v, dims: { batch, queryLength: length, keyLength: length, channels } };
    const options = { order, causal: true };
    const attention = causalEa(order);
    const outputs = within(() => [
      attention(inputs.q, inputs.k, inputs.v),
      ...lossGradients(attention, inputs),
    ]);
    const [y, dq, dk, dv] = await Promise.all(outputs.map((x) => x.data()));
    tf.dispose(outputs);
    const backward = eaBackward(oracle, g, options);
    const check: GradientCheck = {
      forward: relativeRmsError(eaForward(oracle, options).y, y),
      dq: relativeRmsError(backward.dq, dq),
      dk: relativeRmsError(backward.dk, dk),
      dv: relativeRmsError(backward.dv, dv),
    };
    requireGradientCheck(what, check);
    return check;
  } finally {
    disposeInputs(inputs);
  }
}

/** The composite's gate before the op-level benchmark: B = 2, L = 97, D = 24. */
export function checkEaGradients(order: number): Promise<GradientCheck> {
  const shape = { batch: 2, length: 97, channels: 24, seed: 11 };
  return checkEaOracle(`EA-${order} composite`, shape, order);
}

/** Relative RMS errors as one line: `y 1.2e-7, dq 3.4e-7, ...`. */
export function describeGradientCheck(check: GradientCheck): string {
  const { forward, dq, dk, dv } = check;
  return Object.entries({ y: forward, dq, dk, dv })
    .map(([name, error]) => `${name} ${formatError(error)}`)
    .join(', ');
}

function requireGradientCheck(what: string, check: GradientCheck): void {
  require(check.forward <=
    FORWARD_TOLERANCE, `${what} output on ${tf.getBackend()} differs from float64: relative RMS ${formatError(check.forward)} > ${FORWARD_TOLERANCE}`);
  for (const name of ['dq', 'dk', 'dv'] as const) {
    require(check[name] <=
      GRADIENT_TOLERANCE, `${what} ${name} on ${tf.getBackend()} differs from float64: relative RMS ${formatError(check[name])} > ${GRADIENT_TOLERANCE}`);
  }
}

export interface SoftmaxCheck {
  /** B=2, L=11, D=5: output vs float64, gradients vs float64 central differences. */
  small: GradientCheck;
  /** B=1, L=300, D=64: output vs float64, gradients vs tfjs autodiff of the dense form. */
  medium: GradientCheck;
}

const DENSE_AUTODIFF: SoftmaxVariant = {
  transposes: 'explicit',
  gradient: 'autodiff',
  mask: 'per-call',
  queryBlocks: 1,
  rowBroadcast: 'native',
};

/** Checks one softmax variant, causal, at a size small enough for finite differences and at a
 * medium one where several query blocks of unequal size occur. */
export function checkSoftmaxVariant(variant: SoftmaxVariant): SoftmaxCheck {
  const attention = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
    softmaxAttention(q, k, v, { causal: true, variant });
  const small = withInputs(2, 11, 5, (inputs) => {
    const [q, k, v, g] = [inputs.q, inputs.k, inputs.v, inputs.cotangent].map((x) =>
      Float64Array.from(x.dataSync()),
    );
    const dims = selfAttentionDims(2, 11, 5);
    const reference = {
      y: softmaxAttention64(q, k, v, dims, true),
      dq: centralDifferenceGradient((x) => softmaxLoss64(x, k, v, g, dims, true), q),
      dk: centralDifferenceGradient((x) => softmaxLoss64(q, x, v, g, dims, true), k),
      dv: centralDifferenceGradient((x) => softmaxLoss64(q, k, x, g, dims, true), v),
    };
    return compare(attention, inputs, reference);
  });
  requireGradientCheck(`softmax attention (${JSON.stringify(variant)}, L = 11)`, small);
  const medium = withInputs(1, 300, 64, (inputs) => {
    const dims = selfAttentionDims(1, 300, 64);
    const y = softmaxAttention64(
      inputs.q.dataSync(),
      inputs.k.dataSync(),
      inputs.v.dataSync(),
      dims,
      true,
    );
    const [dq, dk, dv] = lossGradients(
      (q, k, v) => softmaxAttention(q, k, v, { causal: true, variant: DENSE_AUTODIFF }),
      inputs,
    ).map((t) => {
      const values = t.dataSync();
      t.dispose();
      return values;
    });
    return compare(attention, inputs, { y, dq, dk, dv });
  });
  requireGradientCheck(`softmax attention (${JSON.stringify(variant)}, L = 300)`, medium);
  return { small, medium };
}

function withInputs<T>(
  batch: number,
  length: number,
  channels: number,
  body: (inputs: AttentionInputs) => T,
): T {
  const inputs = makeInputs(batch, length, channels, 23);
  try {
    return body(inputs);
  } finally {
    disposeInputs(inputs);
  }
}

function compare(
  attention: (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor,
  inputs: AttentionInputs,
  reference: {
    y: ArrayLike<number>;
    dq: ArrayLike<number>;
    dk: ArrayLike<number>;
    dv: ArrayLike<number>;
  },
): GradientCheck {
  const y = attention(inputs.q, inputs.k, inputs.v);
  const grads = lossGradients(attention, inputs);
  const check: GradientCheck = {
    forward: relativeRmsError(reference.y, y.dataSync()),
    dq: relativeRmsError(reference.dq, grads[0].dataSync()),
    dk: relativeRmsError(reference.dk, grads[1].dataSync()),
    dv: relativeRmsError(reference.dv, grads[2].dataSync()),
  };
  tf.dispose([y, ...grads]);
  return check;
}
