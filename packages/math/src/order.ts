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
 * The highest series order any implementation accepts (the oracle included, so that it covers
 * exactly the orders there is something to compare with).
 *
 * Implementations run in float32, where three things break soon after 40:
 * - `a_n = 2^n / n!` is a normal float32 up to n = 41 (a_40 ≈ 1.4e-36); a_42 ≈ 3.1e-39 is
 *   subnormal and loses bits, and from n = 48 it rounds to 0, so `0 · q^n` turns into `0 · ∞ = NaN`
 *   as soon as `q^n` overflows.
 * - `q^n` stays finite for |q| <= 9.19 at n = 40, about the |k| ≈ 9.4 beyond which `e^{-k²}`
 *   underflows and keys drop out anyway; at n = 80 only |q| <= 3.03 is safe.
 * - `max_k k^n e^{-k²} = (n / 2e)^{n/2}` (a state entry) is 2.2e17 at n = 40 but overflows float32
 *   from n = 70, for keys near |k| = √35.
 * Measured against float64 on tfjs cpu (non-causal, |q|, |k| uniform up to 4.5), the
 * composite stays at float32 rounding (3e-7) through order 42 and then drifts: 8e-7 at 44,
 * 1.2e-4 at 46, 7e-3 at 48, NaN from 60. And T_40(x) already matches e^x to float32 precision
 * for -8.7 <= x = 2qk <= 15.5, so higher orders have little left to add in float32.
 */
export const MAX_ORDER = 40;

/**
 * Why `order` is not a valid order, as the end of a sentence that starts with the argument's
 * name (`must be …, got …`), or `undefined` when it is valid. Series orders are even integers
 * from 0 to {@link MAX_ORDER}; `'exact'` is valid where `allowExact` is set. Every check of an
 * order in the project words its error from this, so all of them accept the same values.
 */
export function orderProblem(order: unknown, allowExact = true): string | undefined {
  if (allowExact && order === 'exact') return undefined;
  const exact = allowExact ? " or 'exact'" : '';
  if (typeof order === 'number' && order > MAX_ORDER) {
    return `must be an even integer from 0 to MAX_ORDER = ${MAX_ORDER}${exact} (higher Taylor terms underflow or overflow float32), got ${describeValue(order)}`;
  }
  if (typeof order !== 'number' || !Number.isInteger(order) || order < 0 || order % 2 !== 0) {
    return `must be an even integer >= 0${exact}, got ${describeValue(order)}`;
  }
  return undefined;
}

/**
 * Whether `order` is a valid series order: an even integer from 0 to {@link MAX_ORDER}.
 *
 * Only even degrees are allowed because the Taylor polynomial of `exp` is positive on the whole
 * real line exactly when its degree is even, which keeps every series weight positive.
 */
export function isSeriesOrder(order: unknown): order is number {
  return orderProblem(order, false) === undefined;
}

/** Throws a `RangeError` unless `order` is an even integer from 0 to {@link MAX_ORDER}. */
export function assertSeriesOrder(order: unknown, name = 'order'): asserts order is number {
  const problem = orderProblem(order, false);
  if (problem !== undefined) throw new RangeError(`${name} ${problem}`);
}

/** Throws a `RangeError` unless `order` is a series order or `'exact'`. */
export function assertOrder(order: unknown, name = 'order'): asserts order is Order {
  const problem = orderProblem(order, true);
  if (problem !== undefined) throw new RangeError(`${name} ${problem}`);
}
