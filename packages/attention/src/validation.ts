import { orderProblem } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionOrder } from './kernel_names.js';

/**
 * Argument checks shared by the ops and the layer. Every message names the argument, what was
 * expected and what was given, and starts with the public function's name.
 */

export type TensorInput = tf.Tensor | tf.TensorLike;

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

export function fail(op: string, message: string): never {
  throw new Error(`${op}: ${message}`);
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
  try {
    return tf.tensor(x as tf.TensorLike, undefined, 'float32');
  } catch (error) {
    fail(
      op,
      `${name} must be a float32 tensor or nested numeric array (${(error as Error).message})`,
    );
  }
}

/** A mask of any numeric or boolean dtype; nonzero marks a visible key. Returns float32 0/1. */
export function checkMask(op: string, mask: unknown, expected: readonly number[]): tf.Tensor {
  const m = mask instanceof tf.Tensor ? mask : tf.tensor(mask as tf.TensorLike);
  if (m.dtype === 'string' || m.dtype === 'complex64') {
    fail(op, `mask must be boolean or numeric, got dtype ${m.dtype}`);
  }
  checkShape(op, 'mask', m.shape, expected, expected.length === 2 ? '[B, L]' : '[L]');
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

/** Rejects option names the function does not know (a typo like `casual` would go unnoticed). */
export function checkOptionNames(op: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      fail(op, `unknown option '${key}'; expected one of ${known.join(', ')}`);
    }
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
): [tf.Tensor, tf.Tensor] {
  if (state == null || typeof state !== 'object') {
    fail(op, `${name} must be {s, z}, got ${String(state)}`);
  }
  const expected = batched ? [batch, order + 1, channels] : [order + 1, channels];
  const symbolic = `${batched ? '[B, t+1, D]' : '[t+1, D]'} for order ${order}`;
  const [s, z] = (['s', 'z'] as const).map((part) => {
    const x = checkFloatTensor(op, `${name}.${part}`, (state as Record<string, unknown>)[part]);
    checkShape(op, `${name}.${part}`, x.shape, expected, symbolic);
    return batched ? x : tf.expandDims(x, 0);
  });
  return [s, z];
}
