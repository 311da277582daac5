import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  type ContractDim,
  contractDimNames,
  freeContractDims,
  type KernelContract,
  type KernelForm,
  kernelContracts,
} from '../kernel_names.js';
import { checkKernelCall, type KernelCall } from './kernel_checks.js';

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
  const contract: KernelContract = kernelContracts[form];
  const call = checkKernelCall(form, inputs, attrs);
  const shapes = Object.values(contract.inputs).flat();
  const scalars: Record<string, number | boolean | string> = { ...call.attrs };
  for (const dim of freeContractDims.filter((d: ContractDim) => shapes.includes(d))) {
    scalars[contractDimNames[dim]] = call.sizes[dim] as number;
  }
  return {
    call,
    inputs: Object.keys(contract.inputs).map((name) => [name, inputs[name] as TensorInfo]),
    outputs: Object.keys(contract.outputs).map((name, i) => [name, call.outputShapes[i]]),
    scalars,
  };
}
