import { assertSeriesOrder } from './order.js';
import type { State64 } from './types.js';
import { checkPositiveInteger } from './validate.js';

/**
 * The state before any key: `s = z = 0`, each `[B, t+1, D]`. Starting from it is the same as
 * passing no initial state at all.
 */
export function zeroState(order: number, batch: number, channels: number): State64 {
  assertSeriesOrder(order);
  checkPositiveInteger('batch', batch);
  checkPositiveInteger('channels', channels);
  const size = batch * (order + 1) * channels;
  return { s: new Float64Array(size), z: new Float64Array(size) };
}
