/**
 * Input checks for the reference implementations. Every error names the argument, what was
 * expected and what was received, so a mistake in a caller's test is obvious at once.
 */
import { assertOrder, describeValue } from './order.js';
import type { AttentionInputs, AttentionOptions, Dims, Order, State } from './types.js';

function isArrayLike(data: unknown): data is ArrayLike<number> {
  return (
    data !== null &&
    typeof data === 'object' &&
    typeof (data as { length?: unknown }).length === 'number'
  );
}

/** Throws unless `value` is an integer >= 1. */
export function checkPositiveInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${describeValue(value)}`);
  }
}

/**
 * Throws unless `data` is array-like with `expected` elements, all finite.
 * `formula` spells out where `expected` comes from, e.g. `B*L*D = 2*5*3`.
 */
export function checkArray(
  name: string,
  data: unknown,
  expected: number,
  formula: string,
): asserts data is ArrayLike<number> {
  if (!isArrayLike(data)) {
    throw new TypeError(`${name} must be an array or typed array, got ${describeValue(data)}`);
  }
  if (data.length !== expected) {
    throw new RangeError(
      `${name} must have length ${formula} = ${expected}, got length ${data.length}`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(
        `${name} must contain only finite numbers, got ${String(data[i])} at index ${i}`,
      );
    }
  }
}

export function checkDims(dims: unknown): asserts dims is Dims {
  if (dims === null || typeof dims !== 'object') {
    throw new TypeError(`dims must be an object, got ${describeValue(dims)}`);
  }
  const d = dims as Record<string, unknown>;
  for (const key of ['batch', 'queryLength', 'keyLength', 'channels']) {
    checkPositiveInteger(`dims.${key}`, d[key]);
  }
}

/** Throws unless `state.s` and `state.z` are both `[B, t+1, D]`. */
export function checkState(
  name: string,
  state: unknown,
  order: number,
  batch: number,
  channels: number,
): asserts state is State {
  if (state === null || typeof state !== 'object') {
    throw new TypeError(`${name} must be an object {s, z}, got ${describeValue(state)}`);
  }
  const terms = order + 1;
  const formula = `B*(t+1)*D = ${batch}*${terms}*${channels}`;
  const { s, z } = state as Record<string, unknown>;
  checkArray(`${name}.s`, s, batch * terms * channels, formula);
  checkArray(`${name}.z`, z, batch * terms * channels, formula);
}

export interface CheckedAttention {
  readonly order: Order;
  readonly causal: boolean;
}

/** Validates everything `eaForward` and `eaBackward` have in common. */
export function checkAttention(
  inputs: AttentionInputs,
  options: AttentionOptions,
): CheckedAttention {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { order } = options;
  assertOrder(order);
  const causal = options.causal ?? false;
  if (typeof causal !== 'boolean') {
    throw new TypeError(`options.causal must be a boolean, got ${describeValue(causal)}`);
  }
  if (inputs === null || typeof inputs !== 'object') {
    throw new TypeError(`inputs must be an object, got ${describeValue(inputs)}`);
  }
  checkDims(inputs.dims);
  const { batch: B, queryLength: Lq, keyLength: L, channels: D } = inputs.dims;
  if (causal && Lq !== L) {
    throw new RangeError(
      `causal attention needs dims.queryLength == dims.keyLength, got queryLength ${Lq} and keyLength ${L}`,
    );
  }
  checkArray('q', inputs.q, B * Lq * D, `B*Lq*D = ${B}*${Lq}*${D}`);
  checkArray('k', inputs.k, B * L * D, `B*L*D = ${B}*${L}*${D}`);
  checkArray('v', inputs.v, B * L * D, `B*L*D = ${B}*${L}*${D}`);
  if (inputs.mask !== undefined) {
    checkArray('mask', inputs.mask, B * L, `B*L = ${B}*${L}`);
    for (let i = 0; i < inputs.mask.length; i++) {
      const m = inputs.mask[i];
      if (m !== 0 && m !== 1) {
        throw new RangeError(`mask must contain only 0 and 1, got ${m} at index ${i}`);
      }
    }
  }
  if (options.initialState !== undefined) {
    if (order === 'exact') {
      throw new RangeError(
        "initialState needs a series order (the state holds series moments), got order 'exact'",
      );
    }
    checkState('initialState', options.initialState, order, B, D);
  }
  return { order, causal };
}
