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
