import * as tf from '@tensorflow/tfjs-core';

/**
 * How the ops and the layer report bad input: an Error whose message starts with the public
 * function's name and says what was expected and what was given.
 */
export function fail(op: string, message: string): never {
  throw new Error(`${op}: ${message}`);
}

/** How a given value reads in a message: strings quoted, arrays, tensors and objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof tf.Tensor) return `a tensor of shape [${value.shape.join(', ')}]`;
  if (typeof value === 'function') return 'a function';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
