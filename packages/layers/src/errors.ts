import * as tf from '@tensorflow/tfjs-core';

/**
 * How the layers report bad input: an Error whose message starts with where it happened (the
 * factory or `Class.method`) and says what was expected and what was given.
 */
export function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

/** How a given value reads in a message: strings quoted, arrays, tensors and objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof tf.Tensor) {
    return `a ${value.dtype} tensor of shape ${formatShape(value.shape)}`;
  }
  if (typeof value === 'function') return 'a function';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

export function formatShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((size) => (size === null ? 'null' : String(size))).join(', ')}]`;
}
