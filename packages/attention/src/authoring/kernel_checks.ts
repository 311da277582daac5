import { groupFeatureCount, orderProblem } from '@elementwise/math';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  type AttentionOrder,
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionGroupedStep,
  ElementwiseAttentionStep,
  stateSize,
} from '../kernel_names.js';

/**
 * For backend authors: checks on what the op hands a kernel. The op validates user input; these
 * catch a kernel called directly with inputs or attrs that break the contract.
 */

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

/** The dims of a forward/backward call, after checking every input against q and k. */
export function attentionDims(
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  order: AttentionOrder,
  causal: boolean,
): KernelDims {
  const { q, k } = inputs;
  if (q.shape.length !== 3 || k.shape.length !== 3) {
    throw new Error(`${kernelName}: q and k must have rank 3 [B, L, D]`);
  }
  const [batch, queries, channels] = q.shape;
  const keys = k.shape[1];
  const terms = stateSize(order);
  expectShape(kernelName, 'k', k, [batch, keys, channels]);
  expectShape(kernelName, 'v', inputs.v, [batch, keys, channels]);
  expectShape(kernelName, 'mask', inputs.mask, [batch, keys]);
  expectShape(kernelName, 'initialS', inputs.initialS, [batch, terms, channels]);
  expectShape(kernelName, 'initialZ', inputs.initialZ, [batch, terms, channels]);
  if (causal && queries !== keys) {
    throw new Error(`${kernelName}: causal needs Lq == L, got Lq = ${queries} and L = ${keys}`);
  }
  return { batch, queries, keys, channels };
}

/** The order and sizes of a step call, after checking q, k, v and the state against each other. */
export function stepDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: number; batch: number; channels: number; stateShape: number[] } {
  const kernelName = ElementwiseAttentionStep;
  const order = readOrder(kernelName, attrs);
  if (order === 'exact') {
    throw new Error(`${kernelName}: order 'exact' has no recurrent form`);
  }
  const { q, k, v, s, z } = inputs;
  if (q.shape.length !== 2) {
    throw new Error(`${kernelName}: q must have shape [B, D]`);
  }
  const [batch, channels] = q.shape;
  const stateShape = [batch, stateSize(order), channels];
  expectShape(kernelName, 'k', k, q.shape);
  expectShape(kernelName, 'v', v, q.shape);
  expectShape(kernelName, 's', s, stateShape);
  expectShape(kernelName, 'z', z, stateShape);
  return { order, batch, channels, stateShape };
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
  const kernelName = ElementwiseAttentionGroupedStep;
  const order = readOrder(kernelName, attrs);
  if (order === 'exact') {
    throw new Error(`${kernelName}: order 'exact' has no recurrent form`);
  }
  const groupSize = attrs.groupSize as unknown;
  const { q, k, v, s, z } = inputs;
  if (q.shape.length !== 2) {
    throw new Error(`${kernelName}: q must have shape [B, D]`);
  }
  const [batch, channels] = q.shape;
  if (
    typeof groupSize !== 'number' ||
    !Number.isInteger(groupSize) ||
    groupSize < 2 ||
    channels % groupSize !== 0
  ) {
    throw new Error(
      `${kernelName}: groupSize must be an integer >= 2 that divides D = ${channels}, got ${String(groupSize)}`,
    );
  }
  const features = groupFeatureCount(groupSize, order);
  const stateShapes = {
    s: [batch, features, channels],
    z: [batch, features, channels / groupSize],
  };
  expectShape(kernelName, 'k', k, q.shape);
  expectShape(kernelName, 'v', v, q.shape);
  expectShape(kernelName, 's', s, stateShapes.s);
  expectShape(kernelName, 'z', z, stateShapes.z);
  return { order, groupSize, batch, channels, stateShapes };
}

/** The order, causality and sizes of a forward call, after checking its inputs. */
export function forwardDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: AttentionOrder; causal: boolean; dims: KernelDims } {
  const order = readOrder(ElementwiseAttentionForward, attrs);
  const causal = attrs.causal === true;
  return { order, causal, dims: attentionDims(ElementwiseAttentionForward, inputs, order, causal) };
}

/** The order, causality and sizes of a backward call, after checking its inputs and upstream gradients. */
export function backwardDims(
  attrs: NamedAttrMap,
  inputs: Record<string, TensorInfo>,
): { order: AttentionOrder; causal: boolean; dims: KernelDims } {
  const kernelName = ElementwiseAttentionBackward;
  const order = readOrder(kernelName, attrs);
  const causal = attrs.causal === true;
  const dims = attentionDims(kernelName, inputs, order, causal);
  expectShape(kernelName, 'dy', inputs.dy, inputs.q.shape);
  expectShape(kernelName, 'dFinalS', inputs.dFinalS, inputs.initialS.shape);
  expectShape(kernelName, 'dFinalZ', inputs.dFinalZ, inputs.initialZ.shape);
  return { order, causal, dims };
}
