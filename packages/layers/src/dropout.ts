import * as tf from '@tensorflow/tfjs-core';
import type { Kwargs } from './config.js';
import { describeValue, fail } from './errors.js';

/** Drops out `x` at one named place in a layer's call; the identity outside training. */
export type DropoutAt = (x: tf.Tensor, site: string) => tf.Tensor;

/**
 * The dropout of one call of layer `layerName` at `rate`, from the call's kwargs: on only when
 * `kwargs.training` is true. With `kwargs.seed` (a finite number, e.g. from
 * `model.apply(x, {training: true, seed})`), each place draws its mask from the seed, the layer's
 * name and the place, so a call is reproducible and no two places share a mask; without it the
 * masks are random, as tfjs's own Dropout layer draws them.
 */
export function dropoutOf(
  layerName: string,
  where: string,
  kwargs: Kwargs | undefined,
  rate: number,
): DropoutAt {
  const training = kwargs?.['training'] === true;
  const seed = kwargs?.['seed'];
  if (seed !== undefined && !(typeof seed === 'number' && Number.isFinite(seed))) {
    fail(where, `kwargs.seed must be a finite number, got ${describeValue(seed)}`);
  }
  if (!training || rate === 0) return (x) => x;
  return (x, site) =>
    tf.dropout(x, rate, undefined, seed === undefined ? undefined : `${seed}/${layerName}/${site}`);
}

/** Checks a dropout rate from a layer's config. */
export function dropoutRateField(where: string, value: unknown): number {
  const rate = value ?? 0;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    fail(where, `config.dropout must be a number in [0, 1), got ${describeValue(rate)}`);
  }
  return rate;
}
