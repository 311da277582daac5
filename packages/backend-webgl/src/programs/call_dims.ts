/**
 * The sizes and flags of one forward or backward call. Every program of the call is built from
 * them and bakes them into its source.
 */
export interface CallDims {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
  /** T = order + 1 moments per state; 0 for `order: 'exact'`. */
  terms: number;
  causal: boolean;
}

/** The call's dims from what the contract checks return (`forwardDims`, `backwardDims`). */
export function callDims(call: {
  order: number | 'exact';
  causal: boolean;
  dims: Omit<CallDims, 'terms' | 'causal'>;
}): CallDims {
  return { ...call.dims, terms: call.order === 'exact' ? 0 : call.order + 1, causal: call.causal };
}
