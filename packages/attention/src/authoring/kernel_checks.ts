import { groupFeatureCount, orderProblem } from '@elementwise/math';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  type AttentionOrder,
  type ContractAttr,
  type ContractDim,
  contractDimNames,
  freeContractDims,
  type KernelContract,
  type KernelForm,
  kernelContracts,
  recordSizeDims,
  stateSize,
} from '../kernel_names.js';

/**
 * For backend authors: checks on what the op hands a kernel, derived from the contract's data
 * (`kernelContracts`). The op validates user input; these catch a kernel called directly with
 * inputs or attrs that break the contract.
 */

/** A kernel call that satisfies the contract: its attrs, every size, every output's shape. */
export interface KernelCall {
  order: AttentionOrder;
  /** `false` where the kernel has no `causal` attr. */
  causal: boolean;
  /** Channels per group; 1 where the kernel has no `groupSize` attr. */
  groupSize: number;
  /** Every attr the contract lists for the kernel, by name, as read. */
  attrs: Record<string, AttentionOrder | boolean | number>;
  /** Every size of the contract; -1 for those the kernel has none of (F and G but grouped). */
  sizes: Record<ContractDim, number>;
  /** The outputs' shapes, in the order the kernel returns them. */
  outputShapes: number[][];
}

/** The sizes of a forward or backward call. */
export interface KernelDims {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
}

export function readOrder(kernelName: string, attrs: NamedAttrMap): AttentionOrder {
  const order = attrs.order as unknown;
  const problem = orderProblem(order, true);
  if (problem !== undefined) throw new Error(`${kernelName}: order ${problem}`);
  return order as AttentionOrder;
}

export function expectShape(
  kernelName: string,
  name: string,
  info: TensorInfo,
  shape: number[],
): void {
  const same =
    info.shape.length === shape.length && info.shape.every((n, axis) => n === shape[axis]);
  if (!same) {
    throw new Error(
      `${kernelName}: ${name} must have shape [${shape.join(', ')}], got [${info.shape.join(', ')}]`,
    );
  }
}

/**
 * A contract kernel's data as flat arrays, built once per form: a kernel is called once per
 * token when generating, so the per-call check must not walk the contract's objects again.
 */
export interface CompiledContract {
  kernelName: string;
  inputs: [string, readonly ContractDim[]][];
  outputs: (readonly ContractDim[])[];
  inputNames: string[];
  outputNames: string[];
  /** The record's sizes: each name, and the size it holds. */
  recordSizes: [string, ContractDim][];
  attrs: [string, ContractAttr][];
  seriesOnly: boolean;
  hasCausal: boolean;
  grouped: boolean;
}

const compiled = new Map<KernelForm, CompiledContract>();

export function compiledContract(form: KernelForm): CompiledContract {
  let done = compiled.get(form);
  if (done === undefined) {
    const contract: KernelContract = kernelContracts[form];
    const kinds = Object.values(contract.attrs);
    done = {
      kernelName: contract.kernelName,
      inputs: Object.entries(contract.inputs),
      outputs: Object.values(contract.outputs),
      inputNames: Object.keys(contract.inputs),
      outputNames: Object.keys(contract.outputs),
      recordSizes: recordSizeDims(form).map((dim) => [contractDimNames[dim], dim]),
      attrs: Object.entries(contract.attrs),
      seriesOnly: kinds.includes('seriesOrder'),
      hasCausal: kinds.includes('boolean'),
      grouped: kinds.includes('groupSize'),
    };
    compiled.set(form, done);
  }
  return done;
}

const freeDims: ReadonlySet<ContractDim> = new Set(freeContractDims);

/**
 * Checks a call of the contract's kernel `form` (every input's shape against the others and
 * the attrs) and returns its attrs, sizes and output shapes.
 */
export function checkKernelCall(
  form: KernelForm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): KernelCall {
  const contract = compiledContract(form);
  const { kernelName } = contract;
  const order = readOrder(kernelName, attrs);
  if (contract.seriesOnly && order === 'exact') {
    throw new Error(`${kernelName}: order 'exact' has no recurrent form`);
  }
  const causal = contract.hasCausal && attrs.causal === true;
  const groupSize = contract.grouped ? (attrs.groupSize as number) : 1;
  const values: KernelCall['attrs'] = {};
  for (const [name, kind] of contract.attrs) {
    values[name] =
      kind === 'order' || kind === 'seriesOrder'
        ? order
        : kind === 'boolean'
          ? attrs[name] === true
          : (attrs[name] as number);
  }
  // Every size, in one fixed shape; B, Lq, L and D bound by the first input holding each.
  const sizes: Record<ContractDim, number> = { B: -1, Lq: -1, L: -1, D: -1, T: -1, F: -1, G: -1 };
  for (const [name, dims] of contract.inputs) {
    const info = inputs[name];
    if (info === undefined || info.shape.length !== dims.length) {
      const got = info === undefined ? 'nothing' : `[${info.shape.join(', ')}]`;
      throw new Error(`${kernelName}: ${name} must have shape [${dims.join(', ')}], got ${got}`);
    }
    for (let axis = 0; axis < dims.length; axis++) {
      const dim = dims[axis];
      if (freeDims.has(dim) && sizes[dim] < 0) sizes[dim] = info.shape[axis];
    }
  }
  const channels = sizes.D;
  if (
    contract.grouped &&
    (typeof groupSize !== 'number' ||
      !Number.isInteger(groupSize) ||
      groupSize < 2 ||
      channels % groupSize !== 0)
  ) {
    throw new Error(
      `${kernelName}: groupSize must be an integer >= 2 that divides D = ${channels}, got ${String(groupSize)}`,
    );
  }
  sizes.T = stateSize(order);
  if (contract.grouped) {
    sizes.F = groupFeatureCount(groupSize, order as number);
    sizes.G = channels / groupSize;
  }
  const shapeOf = (dims: readonly ContractDim[]) => dims.map((dim) => sizes[dim]);
  for (const [name, dims] of contract.inputs) {
    expectShape(kernelName, name, inputs[name] as TensorInfo, shapeOf(dims));
  }
  if (causal && sizes.Lq !== sizes.L) {
    throw new Error(`${kernelName}: causal needs Lq == L, got Lq = ${sizes.Lq} and L = ${sizes.L}`);
  }
  return {
    order,
    causal,
    groupSize,
    attrs: values,
    sizes,
    outputShapes: contract.outputs.map(shapeOf),
  };
}

function attentionCall(
  form: 'forward' | 'backward',
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: AttentionOrder; causal: boolean; dims: KernelDims } {
  const { order, causal, sizes } = checkKernelCall(form, inputs, attrs);
  const dims = { batch: sizes.B, queries: sizes.Lq, keys: sizes.L, channels: sizes.D };
  return { order, causal, dims: dims as KernelDims };
}

/** The order, causality and sizes of a forward call, after checking its inputs. */
export function forwardDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: AttentionOrder; causal: boolean; dims: KernelDims } {
  return attentionCall('forward', attrs, inputs);
}

/** The order, causality and sizes of a backward call, after checking its inputs and upstream gradients. */
export function backwardDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: AttentionOrder; causal: boolean; dims: KernelDims } {
  return attentionCall('backward', attrs, inputs);
}

/** The order and sizes of a step call, after checking q, k, v and the state against each other. */
export function stepDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: number; batch: number; channels: number; stateShape: number[] } {
  const { order, sizes, outputShapes } = checkKernelCall('step', inputs, attrs);
  return {
    order: order as number,
    batch: sizes.B as number,
    channels: sizes.D as number,
    stateShape: outputShapes[1],
  };
}

/** The sizes of a grouped step call, after checking its attrs and every input against q. */
export function groupedStepDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): {
  order: number;
  groupSize: number;
  batch: number;
  channels: number;
  stateShapes: { s: number[]; z: number[] };
} {
  const { order, groupSize, sizes, outputShapes } = checkKernelCall('groupedStep', inputs, attrs);
  return {
    order: order as number,
    groupSize,
    batch: sizes.B as number,
    channels: sizes.D as number,
    stateShapes: { s: outputShapes[1], z: outputShapes[2] },
  };
}
