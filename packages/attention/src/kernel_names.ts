/**
 * The kernel contract between `@elementwise/attention` and backend adapters.
 *
 * A backend adapter is nothing but `registerKernel` calls for the names below. The op looks the
 * names up for the active backend: when a kernel is registered it is run through
 * `ENGINE.runKernel(name, inputs, attrs)`; otherwise the op runs its composite implementation
 * (plain tfjs ops, every backend). Gradients are registered once per name by this package
 * (`registerGradient`) and call {@link ElementwiseAttentionBackward} where the active backend has it.
 *
 * Notation: B batch, Lq queries, L keys, D channels, t the series order, T = t + 1 moments
 * (T = 0 for `order: 'exact'`, which has no state). All tensors are float32.
 *
 * Every input listed is always present: the op fills a mask of ones and a zero state when the
 * caller gives none, so a kernel never branches on missing inputs and the gradient can save a
 * fixed set of tensors. Every output listed is always produced: the final state is a by-product
 * of the forward pass, and a fixed output arity keeps the gradient's `dys` aligned.
 *
 * Numerical rules every kernel must follow (the conformance kit checks them):
 * - A query whose denominator is exactly 0 (no visible key, or `exp(-k²)` underflow) outputs 0,
 *   and its gradients are 0. Never NaN. Any other denominator divides as usual: states built
 *   from keys always give a positive one, an arbitrary caller-made state may not.
 * - Causal prefix sums over long sequences must not drift: use chunked, pairwise or compensated
 *   summation (the reference composite uses a two-level chunked scan).
 * - `order: 'exact'` is computed stably: `exp(-(q-k)² + min_j (q-k)²)`.
 */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The highest Taylor degree `t` (an even integer from 0 to `MAX_ORDER` = 40), or `'exact'` for
 * quadratic exact EA.
 */
export type AttentionOrder = number | 'exact';

/**
 * Forward pass, causal or not.
 *
 * Inputs:  q [B,Lq,D], k [B,L,D], v [B,L,D], mask [B,L] (1 = visible key, 0 = padding),
 *          initialS [B,T,D], initialZ [B,T,D] (moments before the first key; zeros by default).
 * Outputs: [y [B,Lq,D], finalS [B,T,D], finalZ [B,T,D]] where final = initial + sum over all
 *          visible keys. Causal requires Lq == L.
 */
export const ElementwiseAttentionForward = 'ElementwiseAttentionForward';

/**
 * Backward pass of {@link ElementwiseAttentionForward}, O(tLD) (DESIGN.md §2).
 *
 * Inputs:  the six forward inputs, plus dy [B,Lq,D], dFinalS [B,T,D], dFinalZ [B,T,D]
 *          (upstream gradients of the three forward outputs; zeros where unused).
 * Outputs: [dq, dk, dv, dInitialS, dInitialZ] shaped like the corresponding inputs. The mask
 *          gets no gradient.
 */
export const ElementwiseAttentionBackward = 'ElementwiseAttentionBackward';

/**
 * One recurrent step (series orders only): `s' = s + f(k) v`, `z' = z + f(k)`, then
 * `y = Σ a_n q^n s'_n / Σ a_n q^n z'_n`. Equal to the causal forward at the last position.
 *
 * Inputs:  q [B,D], k [B,D], v [B,D], s [B,T,D], z [B,T,D].
 * Outputs: [y [B,D], s' [B,T,D], z' [B,T,D]].
 * Its gradient is the causal backward with L = 1 and (s, z) as initial state.
 */
export const ElementwiseAttentionStep = 'ElementwiseAttentionStep';

/**
 * One recurrent step of grouped EA (`groupSize` d > 1, series orders only): groups of d channels
 * share one similarity, with F = C(d + t, t) Taylor features per channel (`@elementwise/math`
 * grouped.ts). With q̂ = q/√d, k̂ = k/√d over a group's channels and `f_α(k) = k̂^α e^{-|k̂|²}`:
 * `s' = s + f(k) v`, `z' = z + f(k)`, `y = Σ_α a_α q̂^α s'_α / Σ_α a_α q̂^α z'_α`. Equal to the
 * causal grouped forward at the last position.
 *
 * Inputs:  q [B,D], k [B,D], v [B,D], s [B,F,D], z [B,F,G] (G = D/d groups).
 * Outputs: [y [B,D], s' [B,F,D], z' [B,F,G]].
 * It has no registered gradient: the op runs it only where no gradient is being recorded
 * (generation) and on values the value scale leaves alone (./value_scale.ts), and its
 * composite step, which tfjs differentiates, everywhere else.
 */
export const ElementwiseAttentionGroupedStep = 'ElementwiseAttentionGroupedStep';

export interface ElementwiseAttentionAttrs {
  order: AttentionOrder;
  causal: boolean;
}

export interface ElementwiseAttentionStepAttrs {
  order: number;
}

export interface ElementwiseAttentionGroupedStepAttrs {
  order: number;
  /** d, channels per group (> 1, divides D). */
  groupSize: number;
}

export interface ElementwiseAttentionInputs {
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  mask: TensorInfo;
  initialS: TensorInfo;
  initialZ: TensorInfo;
}

export interface ElementwiseAttentionBackwardInputs extends ElementwiseAttentionInputs {
  dy: TensorInfo;
  dFinalS: TensorInfo;
  dFinalZ: TensorInfo;
}

export interface ElementwiseAttentionStepInputs {
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  s: TensorInfo;
  z: TensorInfo;
}

/**
 * A size the contract's shapes are written in. B, Lq, L and D are read off the inputs; the others
 * follow from the attrs: T = t + 1 moments (`stateSize`), F = C(d + t, t) grouped features
 * (`groupFeatureCount` of `@elementwise/math`), G = D / d groups.
 */
export type ContractDim = 'B' | 'Lq' | 'L' | 'D' | 'T' | 'F' | 'G';

/** The name each size has in a kernel's parameter record. */
export const contractDimNames: Readonly<Record<ContractDim, string>> = {
  B: 'batch',
  Lq: 'queries',
  L: 'keys',
  D: 'channels',
  T: 'terms',
  F: 'features',
  G: 'groups',
};

/** The sizes a kernel reads off its inputs; the rest are derived from the attrs. */
export const freeContractDims: readonly ContractDim[] = ['B', 'Lq', 'L', 'D'];

/**
 * What an attr holds: `order` any {@link AttentionOrder}, `seriesOrder` an even integer (no
 * `'exact'`: recurrent kernels), `boolean`, `groupSize` an integer >= 2 dividing D.
 */
export type ContractAttr = 'order' | 'seriesOrder' | 'boolean' | 'groupSize';

/**
 * One kernel of the contract as data. Inputs are listed in the order the gradient saves them,
 * outputs in the order the kernel returns them. The kernels' input checks
 * (`@elementwise/attention/authoring`), the parameter records handed to native code and to
 * WebAssembly, and the conformance kit's contract cases are all derived from these records.
 */
export interface KernelContract {
  readonly kernelName: string;
  readonly inputs: Readonly<Record<string, readonly ContractDim[]>>;
  readonly outputs: Readonly<Record<string, readonly ContractDim[]>>;
  readonly attrs: Readonly<Record<string, ContractAttr>>;
}

const attentionInputs = {
  q: ['B', 'Lq', 'D'],
  k: ['B', 'L', 'D'],
  v: ['B', 'L', 'D'],
  mask: ['B', 'L'],
  initialS: ['B', 'T', 'D'],
  initialZ: ['B', 'T', 'D'],
} as const satisfies Record<keyof ElementwiseAttentionInputs, readonly ContractDim[]>;

const attentionAttrs = { order: 'order', causal: 'boolean' } as const;

/** The contract's kernels, by the form the conformance kit and the adapters call them. */
export const kernelContracts = {
  forward: {
    kernelName: ElementwiseAttentionForward,
    inputs: attentionInputs,
    outputs: { y: ['B', 'Lq', 'D'], finalS: ['B', 'T', 'D'], finalZ: ['B', 'T', 'D'] },
    attrs: attentionAttrs,
  },
  backward: {
    kernelName: ElementwiseAttentionBackward,
    inputs: {
      ...attentionInputs,
      dy: ['B', 'Lq', 'D'],
      dFinalS: ['B', 'T', 'D'],
      dFinalZ: ['B', 'T', 'D'],
    },
    outputs: {
      dq: ['B', 'Lq', 'D'],
      dk: ['B', 'L', 'D'],
      dv: ['B', 'L', 'D'],
      dInitialS: ['B', 'T', 'D'],
      dInitialZ: ['B', 'T', 'D'],
    },
    attrs: attentionAttrs,
  },
  step: {
    kernelName: ElementwiseAttentionStep,
    inputs: { q: ['B', 'D'], k: ['B', 'D'], v: ['B', 'D'], s: ['B', 'T', 'D'], z: ['B', 'T', 'D'] },
    outputs: { y: ['B', 'D'], nextS: ['B', 'T', 'D'], nextZ: ['B', 'T', 'D'] },
    attrs: { order: 'seriesOrder' },
  },
  groupedStep: {
    kernelName: ElementwiseAttentionGroupedStep,
    inputs: { q: ['B', 'D'], k: ['B', 'D'], v: ['B', 'D'], s: ['B', 'F', 'D'], z: ['B', 'F', 'G'] },
    outputs: { y: ['B', 'D'], nextS: ['B', 'F', 'D'], nextZ: ['B', 'F', 'G'] },
    attrs: { order: 'seriesOrder', groupSize: 'groupSize' },
  },
} as const satisfies Record<string, KernelContract>;

/** The forms of the contract's kernels: `'forward' | 'backward' | 'step' | 'groupedStep'`. */
export type KernelForm = keyof typeof kernelContracts;

/**
 * The fields of a kernel's parameter record, the one named argument a native or WebAssembly
 * implementation receives: its inputs, its outputs, the sizes it reads off its inputs, its attrs.
 */
export function kernelRecordFields(form: KernelForm): string[] {
  const contract: KernelContract = kernelContracts[form];
  return [
    ...Object.keys(contract.inputs),
    ...Object.keys(contract.outputs),
    ...recordSizeDims(form).map((dim) => contractDimNames[dim]),
    ...Object.keys(contract.attrs),
  ];
}

/** The sizes a kernel's record carries: those of {@link freeContractDims} its inputs hold. */
export function recordSizeDims(form: KernelForm): ContractDim[] {
  const shapes = Object.values(kernelContracts[form].inputs as KernelContract['inputs']).flat();
  return freeContractDims.filter((dim) => shapes.includes(dim));
}

/** Names of the forward inputs, in the order the gradient saves them. */
export const forwardInputNames = Object.keys(
  kernelContracts.forward.inputs,
) as readonly (keyof ElementwiseAttentionInputs)[];

/** Names of the step inputs, in the order the gradient saves them. */
export const stepInputNames = Object.keys(
  kernelContracts.step.inputs,
) as readonly (keyof ElementwiseAttentionStepInputs)[];

/** Number of moments a state holds for an order: t + 1, or 0 for `'exact'`. */
export function stateSize(order: AttentionOrder): number {
  return order === 'exact' ? 0 : order + 1;
}

/** Casts the typed maps to what `runKernel` accepts, keeping the contract types at call sites. */
export function asKernelArgs(
  inputs:
    | ElementwiseAttentionInputs
    | ElementwiseAttentionBackwardInputs
    | ElementwiseAttentionStepInputs,
  attrs:
    | ElementwiseAttentionAttrs
    | ElementwiseAttentionStepAttrs
    | ElementwiseAttentionGroupedStepAttrs,
): [NamedTensorInfoMap, NamedAttrMap] {
  return [inputs as unknown as NamedTensorInfoMap, attrs as unknown as NamedAttrMap];
}
