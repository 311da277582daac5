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

/** A form's record names, listed once: plans are made once per call, steps included. */
interface RecordNames {
  inputs: string[];
  outputs: string[];
  sizes: [string, ContractDim][];
}

const recordNames = new Map<KernelForm, RecordNames>();

function namesOf(form: KernelForm): RecordNames {
  let names = recordNames.get(form);
  if (names === undefined) {
    const contract: KernelContract = kernelContracts[form];
    const shapes = Object.values(contract.inputs).flat();
    names = {
      inputs: Object.keys(contract.inputs),
      outputs: Object.keys(contract.outputs),
      sizes: freeContractDims
        .filter((dim) => shapes.includes(dim))
        .map((dim) => [contractDimNames[dim], dim]),
    };
    recordNames.set(form, names);
  }
  return names;
}

/** Checks a call of kernel `form` and lays it out as its parameter record. */
export function kernelRecordPlan(
  form: KernelForm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): KernelRecordPlan {
  const call = checkKernelCall(form, inputs, attrs);
  const names = namesOf(form);
  const scalars: Record<string, number | boolean | string> = {};
  for (const [name, dim] of names.sizes) scalars[name] = call.sizes[dim];
  for (const name in call.attrs) scalars[name] = call.attrs[name];
  const inputList: [string, TensorInfo][] = [];
  for (const name of names.inputs) inputList.push([name, inputs[name] as TensorInfo]);
  const outputList: [string, number[]][] = [];
  for (let i = 0; i < names.outputs.length; i++) {
    outputList.push([names.outputs[i], call.outputShapes[i]]);
  }
  return { call, inputs: inputList, outputs: outputList, scalars };
}
