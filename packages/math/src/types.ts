/**
 * Shapes and options shared by every float64 reference implementation.
 *
 * All arrays are flat and row-major, exactly as `tensor.dataSync()` returns them, so a test can
 * hand tfjs data straight to the oracle. `t` below is the series order (highest Taylor degree).
 */

/** The highest Taylor degree `t` (an even integer >= 0), or `'exact'` for quadratic exact EA. */
export type Order = number | 'exact';

export interface Dims {
  /** B */
  readonly batch: number;
  /** Lq: number of queries (equals `keyLength` when causal). */
  readonly queryLength: number;
  /** L: number of keys/values. */
  readonly keyLength: number;
  /** D */
  readonly channels: number;
}

/** Per-sequence recurrent state: `s, z` each `[B, t+1, D]`. */
export interface State {
  readonly s: ArrayLike<number>;
  readonly z: ArrayLike<number>;
}

/** Float64 state as returned by the oracle. */
export interface State64 {
  readonly s: Float64Array;
  readonly z: Float64Array;
}

export interface AttentionInputs {
  /** `[B, Lq, D]` */
  readonly q: ArrayLike<number>;
  /** `[B, L, D]` */
  readonly k: ArrayLike<number>;
  /** `[B, L, D]` */
  readonly v: ArrayLike<number>;
  /**
   * Optional key padding mask `[B, L]` of 0/1. A key with `m_j = 0` is invisible to every query:
   * it multiplies `f_n(k_j)` (series) or `w_ij` (exact).
   */
  readonly mask?: ArrayLike<number>;
  readonly dims: Dims;
}

export interface AttentionOptions {
  readonly order: Order;
  /** Query `i` sees keys `j <= i` only; needs `queryLength == keyLength`. Default `false`. */
  readonly causal?: boolean;
  /** Series orders only: state added to the moments before the first key. */
  readonly initialState?: State;
}
