import type { Order } from './types.js';

/** Renders any value for an error message: strings quoted, numbers as written. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Whether `order` is a valid series order: an even integer >= 0.
 *
 * Only even degrees are allowed because the Taylor polynomial of `exp` is positive on the whole
 * real line exactly when its degree is even, which keeps every series weight positive.
 */
export function isSeriesOrder(order: unknown): order is number {
  return typeof order === 'number' && Number.isInteger(order) && order >= 0 && order % 2 === 0;
}

/** Throws a `RangeError` unless `order` is an even integer >= 0. */
export function assertSeriesOrder(order: unknown, name = 'order'): asserts order is number {
  if (!isSeriesOrder(order)) {
    throw new RangeError(`${name} must be an even integer >= 0, got ${describeValue(order)}`);
  }
}

/** Throws a `RangeError` unless `order` is an even integer >= 0 or `'exact'`. */
export function assertOrder(order: unknown, name = 'order'): asserts order is Order {
  if (order === 'exact' || isSeriesOrder(order)) return;
  throw new RangeError(
    `${name} must be an even integer >= 0 or 'exact', got ${describeValue(order)}`,
  );
}
