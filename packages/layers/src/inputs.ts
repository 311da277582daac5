import * as tf from '@tensorflow/tfjs-core';
import { describeValue, fail, formatShape } from './errors.js';

/**
 * Checks of the tensors handed to the layers' methods, worded like the rest of the project:
 * the argument, the expected shape (symbolic and numeric), and what was given.
 */

/** A float32 tensor that is not disposed. */
export function checkFloatTensor(where: string, name: string, x: unknown): tf.Tensor {
  if (!(x instanceof tf.Tensor))
    fail(where, `${name} must be a tf.Tensor, got ${describeValue(x)}`);
  if (x.isDisposed) fail(where, `${name} has been disposed`);
  if (x.dtype !== 'float32') fail(where, `${name} must have dtype float32, got ${x.dtype}`);
  return x;
}

/** Fails unless `shape` equals `expected` (null entries of `expected` match any size). */
export function checkShape(
  where: string,
  name: string,
  shape: readonly number[],
  expected: readonly (number | null)[],
  symbolic: string,
): void {
  const same =
    shape.length === expected.length &&
    shape.every((size, i) => expected[i] === null || size === expected[i]);
  if (!same) {
    const numeric = formatShape(expected.map((size) => (size === null ? '?' : size)));
    fail(where, `${name} must have shape ${symbolic} = ${numeric}, got ${formatShape(shape)}`);
  }
}

/** The input of a layer call: float32 [B, L, D] with the D the layer was built for. */
export function checkSequence(where: string, x: unknown, channels: number): tf.Tensor3D {
  const input = checkFloatTensor(where, 'x', x);
  checkShape(where, 'x', input.shape, [null, null, channels], '[B, L, D]');
  if (input.shape[1] === 0)
    fail(where, `x must hold at least one position, got ${formatShape(input.shape)}`);
  return input as tf.Tensor3D;
}

/** One position: float32 [B, D]. */
export function checkToken(where: string, x: unknown, channels: number): tf.Tensor2D {
  const input = checkFloatTensor(where, 'xt', x);
  checkShape(where, 'xt', input.shape, [null, channels], '[B, D]');
  return input as tf.Tensor2D;
}

/**
 * A key padding mask [B, L] of any boolean or numeric dtype (nonzero = visible), as
 * `tf.layers.embedding({maskZero: true})` produces; returned as float32 0/1.
 */
export function checkMask(
  where: string,
  mask: unknown,
  batch: number,
  length: number,
): tf.Tensor2D {
  if (!(mask instanceof tf.Tensor)) {
    fail(where, `mask must be a tf.Tensor [B, L], got ${describeValue(mask)}`);
  }
  if (mask.isDisposed) fail(where, 'mask has been disposed');
  if (mask.dtype === 'string' || mask.dtype === 'complex64') {
    fail(where, `mask must be boolean or numeric, got dtype ${mask.dtype}`);
  }
  checkShape(where, 'mask', mask.shape, [batch, length], '[B, L]');
  return tf.tidy(() => tf.cast(tf.notEqual(mask, 0), 'float32')) as tf.Tensor2D;
}

/** A positive integer batch size, for `initState`. */
export function checkBatch(where: string, batch: unknown): number {
  if (typeof batch !== 'number' || !Number.isInteger(batch) || batch < 1) {
    fail(where, `batch must be a positive integer, got ${describeValue(batch)}`);
  }
  return batch;
}

/** A state object `{part: tensor, …}`, checked part by part against the expected shapes. */
export function checkStateParts<K extends string>(
  where: string,
  name: string,
  state: unknown,
  expected: Record<K, { shape: readonly (number | null)[]; symbolic: string }>,
): Record<K, tf.Tensor> {
  const parts = Object.keys(expected) as K[];
  if (state === null || typeof state !== 'object' || state instanceof tf.Tensor) {
    fail(where, `${name} must be {${parts.join(', ')}}, got ${describeValue(state)}`);
  }
  const result = {} as Record<K, tf.Tensor>;
  for (const part of parts) {
    const value = checkFloatTensor(
      where,
      `${name}.${part}`,
      (state as Record<string, unknown>)[part],
    );
    checkShape(
      where,
      `${name}.${part}`,
      value.shape,
      expected[part].shape,
      expected[part].symbolic,
    );
    result[part] = value;
  }
  return result;
}
