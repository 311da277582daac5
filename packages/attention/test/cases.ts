import type { Case } from './helpers.js';

/**
 * The shapes DESIGN.md §5 asks for: L = 1, odd L, Lq != L, D not a multiple of 4, B > 1, masks,
 * state in/out, and orders 0/2/4/6/8 and 'exact', causal and not.
 */
export const ORDERS = [0, 2, 4, 6, 8, 'exact'] as const;

export const CASES: Case[] = [
  ...ORDERS.flatMap((order): Case[] => [
    { batch: 2, queries: 7, keys: 7, channels: 5, order, causal: false },
    { batch: 2, queries: 7, keys: 7, channels: 5, order, causal: true },
    { batch: 1, queries: 4, keys: 9, channels: 3, order, causal: false, masked: true },
    { batch: 3, queries: 6, keys: 6, channels: 4, order, causal: true, masked: true },
  ]),
  { batch: 1, queries: 1, keys: 1, channels: 1, order: 6, causal: true },
  { batch: 2, queries: 1, keys: 1, channels: 3, order: 2, causal: false },
  { batch: 2, queries: 3, keys: 1, channels: 6, order: 'exact', causal: false },
  { batch: 2, queries: 5, keys: 5, channels: 3, order: 4, causal: true, withState: true },
  { batch: 2, queries: 3, keys: 8, channels: 3, order: 6, causal: false, withState: true },
  {
    batch: 1,
    queries: 9,
    keys: 9,
    channels: 7,
    order: 8,
    causal: true,
    masked: true,
    withState: true,
  },
  // Longer than one scan chunk, so the two-level scan and its padding are exercised.
  { batch: 1, queries: 300, keys: 300, channels: 3, order: 6, causal: true, masked: true },
];

/** Relative RMS bounds met in float32 (measured margins are in the package README). */
export const FORWARD_BOUND = 1e-5;
export const GRADIENT_BOUND = 1e-5;
