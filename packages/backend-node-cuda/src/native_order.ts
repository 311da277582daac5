import type { AttentionOrder } from '@elementwise/attention';

/** The addon's encoding of an order: the order itself, or -1 for 'exact'. */
export const nativeOrder = (order: AttentionOrder): number => (order === 'exact' ? -1 : order);
