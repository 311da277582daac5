import { readColumn, readMaskRow } from './layout.js';
import type { AttentionInputs } from './types.js';

/**
 * One channel of one batch element: EA is computed independently per `(b, c)`, so every
 * reference implementation is written for these plain 1-D sequences.
 */
export interface ChannelSequence {
  /** `[Lq]` */
  readonly q: Float64Array;
  /** `[L]` */
  readonly k: Float64Array;
  /** `[L]` */
  readonly v: Float64Array;
  /** `[L]` of 0/1; all ones when the inputs carry no mask. */
  readonly mask: Float64Array;
}

export function readChannelSequence(inputs: AttentionInputs, b: number, c: number) {
  const { queryLength, keyLength, channels } = inputs.dims;
  const sequence: ChannelSequence = {
    q: readColumn(inputs.q, queryLength, channels, b, c),
    k: readColumn(inputs.k, keyLength, channels, b, c),
    v: readColumn(inputs.v, keyLength, channels, b, c),
    mask: readMaskRow(inputs.mask, keyLength, b),
  };
  return sequence;
}
