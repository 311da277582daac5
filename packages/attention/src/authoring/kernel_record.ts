import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelForm } from '../kernel_names.js';
import { checkKernelCall, compiledContract, type KernelCall } from './kernel_checks.js';

/**
 * A checked kernel call laid out as the contract's parameter record (`kernelRecordFields`):
 * what a native or WebAssembly kernel receives by name instead of by position.
 */
export interface KernelRecordPlan {
  call: KernelCall;
  /** The inputs, by name, in the contract's order. */
  inputs: [string, TensorInfo][];
  /** The outputs' names and shapes, in the order the kernel returns them. */
  outputs: [string, number[]][];
  /** The sizes read off the inputs and the attrs, under their record names. */
  scalars: Record<string, number | boolean | string>;
}

/** Checks a call of kernel `form` and lays it out as its parameter record. */
export function kernelRecordPlan(
  form: KernelForm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): KernelRecordPlan {
  const call = checkKernelCall(form, inputs, attrs);
  const contract = compiledContract(form);
  const scalars: Record<string, number | boolean | string> = {};
  for (const [name, dim] of contract.recordSizes) scalars[name] = call.sizes[dim];
  for (const name in call.attrs) scalars[name] = call.attrs[name];
  const inputList: [string, TensorInfo][] = [];
  for (const name of contract.inputNames) inputList.push([name, inputs[name] as TensorInfo]);
  const outputList: [string, number[]][] = [];
  for (let i = 0; i < contract.outputNames.length; i++) {
    outputList.push([contract.outputNames[i], call.outputShapes[i]]);
  }
  return { call, inputs: inputList, outputs: outputList, scalars };
}
