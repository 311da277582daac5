/** The shapes the kit runs every form on (DESIGN.md §5). */

/** Orders every form is checked at: the series orders of the paper and exact EA. */
export const ORDERS = [0, 2, 4, 6, 8, 'exact'] as const;

export interface Case {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
  order: number | 'exact';
  causal: boolean;
  /** A random 0/1 key mask with at least one visible key per row. */
  masked?: boolean;
  /** A random non-zero initial state (series orders only). */
  withState?: boolean;
}

/** Test titles are built from this, e.g. `B=2 Lq=7 L=7 D=5 order=6 causal mask`. */
export function describeCase(c: Case): string {
  const parts = [
    `B=${c.batch}`,
    `Lq=${c.queries}`,
    `L=${c.keys}`,
    `D=${c.channels}`,
    `order=${c.order}`,
  ];
  if (c.causal) parts.push('causal');
  if (c.masked) parts.push('mask');
  if (c.withState) parts.push('state');
  return parts.join(' ');
}

/**
 * L = 1, odd L, Lq != L, D not a multiple of 4, B > 1, masks, state in and out, orders
 * 0/2/4/6/8 and 'exact', causal and not. `long` is the length of the last case: long enough
 * that chunked scans use more than one chunk and pad the last (the composite scans directly up to
 * 128 keys and in blocks of 64 beyond), odd so it is a multiple of no block size.
 */
export function conformanceCases(long = 301): Case[] {
  return [
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
    { batch: 1, queries: long, keys: long, channels: 3, order: 6, causal: true, masked: true },
  ];
}
