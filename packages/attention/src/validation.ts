import { orderProblem } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';
import { stateShapes } from './group_size.js';
import type { AttentionOrder } from './kernel_names.js';
import { checkNestedArray } from './nested_array.js';

export { fail };

/**
 * Argument checks shared by the ops and the layer. Every message names the argument, what was
 * expected and what was given, and starts with the public function's name.
 */

export type TensorInput = tf.Tensor | tf.TensorLike;

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Accepts an even integer from 0 to `MAX_ORDER`, or `'exact'` where allowed. The rule and its
 * wording come from `@elementwise/math`, so the op, the kernels' checks and the oracle agree.
 */
export function checkOrder(op: string, order: unknown, allowExact = true): AttentionOrder {
  const problem = orderProblem(order, allowExact);
  if (problem !== undefined) fail(op, `order ${problem}`);
  return order as AttentionOrder;
}

/** Converts to a float32 tensor, refusing other dtypes instead of casting them silently. */
export function checkFloatTensor(op: string, name: string, x: unknown): tf.Tensor {
  if (x == null) fail(op, `${name} is required, got ${x}`);
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) fail(op, `${name} has been disposed`);
    if (x.dtype !== 'float32') fail(op, `${name} must have dtype float32, got ${x.dtype}`);
    return x;
  }
  checkNestedArray(op, name, x, 'numbers');
  return tf.tensor(x as tf.TensorLike, undefined, 'float32');
}

/**
 * A mask of any numeric or boolean dtype; nonzero marks a visible key. Returns float32 0/1.
 * `symbolic` names the expected shape in messages (default `[B, L]`, or `[L]` for rank 1).
 */
export function checkMask(
  op: string,
  mask: unknown,
  expected: readonly number[],
  symbolic = expected.length === 2 ? '[B, L]' : '[L]',
): tf.Tensor {
  let m: tf.Tensor;
  if (mask instanceof tf.Tensor) {
    if (mask.isDisposed) fail(op, 'mask has been disposed');
    m = mask;
  } else {
    checkNestedArray(op, 'mask', mask, 'numbers or booleans');
    m = tf.tensor(mask as tf.TensorLike);
  }
  if (m.dtype === 'string' || m.dtype === 'complex64') {
    fail(op, `mask must be boolean or numeric, got dtype ${m.dtype}`);
  }
  checkShape(op, 'mask', m.shape, expected, symbolic);
  return tf.tidy(() => tf.cast(tf.notEqual(m, 0), 'float32'));
}

export function checkShape(
  op: string,
  name: string,
  got: readonly number[],
  expected: readonly number[],
  symbolic: string,
): void {
  const same = got.length === expected.length && got.every((size, i) => size === expected[i]);
  if (!same) {
    fail(
      op,
      `${name} must have shape ${symbolic} = ${formatShape(expected)}, got ${formatShape(got)}`,
    );
  }
}

/**
 * Validates a recurrent state `{s, z}`, each [B, t+1, D] (or [t+1, D] for unbatched inputs),
 * and returns both with the batch axis.
 */
export function checkState(
  op: string,
  name: string,
  state: unknown,
  order: number,
  batch: number,
  channels: number,
  batched: boolean,
  groupSize = 1,
): [tf.Tensor, tf.Tensor] {
  if (state == null || typeof state !== 'object') {
    fail(op, `${name} must be {s, z}, got ${String(state)}`);
  }
  const shapes = stateShapes(order, groupSize, channels);
  const grouped = groupSize > 1;
  const symbolic = {
    s: grouped ? '[F, D]' : '[t+1, D]',
    z: grouped ? '[F, D / groupSize]' : '[t+1, D]',
  };
  const where = grouped ? `order ${order} and groupSize ${groupSize}` : `order ${order}`;
  const [s, z] = (['s', 'z'] as const).map((part) => {
    const x = checkFloatTensor(op, `${name}.${part}`, (state as Record<string, unknown>)[part]);
    const expected = batched ? [batch, ...shapes[part]] : shapes[part];
    const pattern = batched ? `[B, ${symbolic[part].slice(1)}` : symbolic[part];
    checkShape(op, `${name}.${part}`, x.shape, expected, `${pattern} for ${where}`);
    return batched ? x : tf.expandDims(x, 0);
  });
  return [s, z];
}
