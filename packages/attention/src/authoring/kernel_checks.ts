import { groupFeatureCount, orderProblem } from '@elementwise/math';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  type AttentionOrder,
  type ContractDim,
  type KernelContract,
  type KernelForm,
  kernelContracts,
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
  sizes: Partial<Record<ContractDim, number>>;
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

function readAttrs(
  contract: KernelContract,
  attrs: NamedAttrMap,
): Pick<KernelCall, 'order' | 'causal' | 'groupSize' | 'attrs'> {
  const { kernelName } = contract;
  const kinds = Object.values(contract.attrs);
  const order = readOrder(kernelName, attrs);
  if (kinds.includes('seriesOrder') && order === 'exact') {
    throw new Error(`${kernelName}: order 'exact' has no recurrent form`);
  }
  const causal = kinds.includes('boolean') && attrs.causal === true;
  const groupSize = kinds.includes('groupSize') ? (attrs.groupSize as number) : 1;
  const values = Object.fromEntries(
    Object.entries(contract.attrs).map(([name, kind]) => {
      if (kind === 'order' || kind === 'seriesOrder') return [name, order];
      return [name, kind === 'boolean' ? attrs[name] === true : (attrs[name] as number)];
    }),
  );
  return { order, causal, groupSize, attrs: values };
}

/** Binds B, Lq, L and D from the first input that holds each, checking every input's rank. */
function readSizes(
  contract: KernelContract,
  inputs: NamedTensorInfoMap,
): Partial<Record<ContractDim, number>> {
  const sizes: Partial<Record<ContractDim, number>> = {};
  for (const [name, dims] of Object.entries(contract.inputs)) {
    const info = inputs[name];
    if (info === undefined || info.shape.length !== dims.length) {
      const got = info === undefined ? 'nothing' : `[${info.shape.join(', ')}]`;
      throw new Error(
        `${contract.kernelName}: ${name} must have shape [${dims.join(', ')}], got ${got}`,
      );
    }
    dims.forEach((dim, axis) => {
      if (['B', 'Lq', 'L', 'D'].includes(dim)) sizes[dim] ??= info.shape[axis];
    });
  }
  return sizes;
}

/**
 * Checks a call of the contract's kernel `form` (every input's shape against the others and
 * the attrs) and returns its attrs, sizes and output shapes.
 */
export function checkKernelCall(
  form: KernelForm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): KernelCall {
  const contract: KernelContract = kernelContracts[form];
  const { kernelName } = contract;
  const read = readAttrs(contract, attrs);
  const { order, causal, groupSize } = read;
  const sizes = readSizes(contract, inputs);
  const channels = sizes.D as number;
  const grouped = Object.values(contract.attrs).includes('groupSize');
  if (
    grouped &&
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
  if (grouped) {
    sizes.F = groupFeatureCount(groupSize, order as number);
    sizes.G = channels / groupSize;
  }
  const shapeOf = (dims: readonly ContractDim[]) => dims.map((dim) => sizes[dim] as number);
  for (const [name, dims] of Object.entries(contract.inputs)) {
    expectShape(kernelName, name, inputs[name] as TensorInfo, shapeOf(dims));
  }
  if (causal && sizes.Lq !== sizes.L) {
    throw new Error(`${kernelName}: causal needs Lq == L, got Lq = ${sizes.Lq} and L = ${sizes.L}`);
  }
  return {
    ...read,
    sizes,
    outputShapes: Object.values(contract.outputs).map(shapeOf),
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
