import { groupFeatureCount, MAX_GROUP_FEATURES } from '@elementwise/math';
import { describeValue, fail } from './errors.js';
import type { AttentionOrder } from './kernel_names.js';

/**
 * `groupSize`: how many channels share one similarity. 1 (the default) is the paper's
 * per-channel EA; d > 1 scores each group of d channels by its mean squared distance
 * (`@elementwise/math` grouped.ts), with C(d + t, t) Taylor features per channel in the state.
 */
export function checkGroupSize(op: string, value: unknown, order: AttentionOrder): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(op, `options.groupSize must be an integer >= 1, got ${describeValue(value)}`);
  }
  if (order !== 'exact' && groupFeatureCount(value, order) > MAX_GROUP_FEATURES) {
    fail(
      op,
      `options.groupSize ${value} at order ${order} needs C(d + t, t) = ${groupFeatureCount(value, order)} Taylor features per channel, more than ${MAX_GROUP_FEATURES}; use a smaller group or order`,
    );
  }
  return value;
}

/** Refuses a group size that does not divide the channel count. */
export function checkGroupsDivide(op: string, groupSize: number, channels: number): void {
  if (channels % groupSize !== 0) {
    fail(op, `options.groupSize must divide the channel count D = ${channels}, got ${groupSize}`);
  }
}

/**
 * State shapes per batch element: s [F, D] and z [F, D / d] with F = C(d + t, t) — for d = 1
 * both are [t+1, D], the per-channel state.
 */
export function stateShapes(
  order: number,
  groupSize: number,
  channels: number,
): { s: [number, number]; z: [number, number] } {
  const features = groupFeatureCount(groupSize, order);
  return { s: [features, channels], z: [features, channels / groupSize] };
}
