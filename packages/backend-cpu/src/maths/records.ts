import type { Dims } from './common.js';

/**
 * The kernels' parameter records on the TypeScript side: every array and attr of one call under
 * the contract's name (DESIGN.md §4), beside the sizes it is read with. The WebAssembly module
 * takes the same fields (assembly/records.ts), so a call reaches the SIMD kernels, the float64
 * TypeScript ones and the fallback between them as one named record, never as a list of
 * positional arguments. Arrays are flat float32, row-major, as the backends store tensors:
 * q, y, dy, dq [B, Lq, D]; k, v, dk, dv [B, L, D]; mask [B, L]; states [B, T, D].
 */

export interface AttentionInputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly mask: Float32Array;
  readonly initialS: Float32Array;
  readonly initialZ: Float32Array;
}

export interface ForwardOutputs {
  readonly y: Float32Array;
  readonly finalS: Float32Array;
  readonly finalZ: Float32Array;
}

export interface BackwardUpstream {
  readonly dy: Float32Array;
  readonly dFinalS: Float32Array;
  readonly dFinalZ: Float32Array;
}

export interface BackwardOutputs {
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
  readonly dInitialS: Float32Array;
  readonly dInitialZ: Float32Array;
}

/** The attrs: the series order t (or `'exact'`), and whether query i sees only keys j <= i. */
export interface AttentionAttrs<Order> {
  readonly order: Order;
  readonly causal: boolean;
}

export interface ForwardRecord<Order = number>
  extends AttentionInputs,
    ForwardOutputs,
    Dims,
    AttentionAttrs<Order> {}

export interface BackwardRecord<Order = number>
  extends AttentionInputs,
    BackwardUpstream,
    BackwardOutputs,
    Dims,
    AttentionAttrs<Order> {}

/** One recurrent step: q, k, v, y [B, D]; s, z, nextS, nextZ [B, T, D] (grouped: z [B, F, G]). */
export interface StepRecord {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly s: Float32Array;
  readonly z: Float32Array;
  readonly y: Float32Array;
  readonly nextS: Float32Array;
  readonly nextZ: Float32Array;
  readonly batch: number;
  readonly channels: number;
  readonly order: number;
}

/** A grouped step: channels in groups of `groupSize` share one similarity. */
export interface GroupedStepRecord extends StepRecord {
  readonly groupSize: number;
}
