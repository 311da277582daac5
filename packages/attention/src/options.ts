import * as tf from '@tensorflow/tfjs-core';
import { describeValue, fail } from './errors.js';

/**
 * Checks of the options objects users pass to the ops and the layer. JavaScript callers get no
 * type checking, so `elementwiseAttention(q, k, v, true)` or `{causal: 'yes'}` would otherwise
 * run with defaults that look like an answer (a non-causal model that sees the future).
 */

/**
 * Returns the options argument as an object (`{}` when omitted). Refuses anything else, such
 * as a boolean or a number passed where the options go, and names that are not in `known`,
 * such as the typo `casual`.
 */
export function checkOptions<T extends object>(
  op: string,
  options: unknown,
  known: readonly string[],
  argument = 'options',
): T {
  if (options === undefined) return {} as T;
  if (
    options === null ||
    typeof options !== 'object' ||
    Array.isArray(options) ||
    options instanceof tf.Tensor
  ) {
    fail(
      op,
      `${argument} must be an object with any of ${known.join(', ')}, got ${describeValue(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      fail(op, `unknown option '${key}'; expected one of ${known.join(', ')}`);
    }
  }
  return options as T;
}

/** A boolean option, or `fallback` when it is absent. */
export function booleanOption(
  op: string,
  name: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    fail(op, `${name} must be a boolean, got ${describeValue(value)}`);
  return value;
}
