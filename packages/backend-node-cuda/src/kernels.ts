import { kernelContracts } from '@elementwise/attention';
import {
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
  kernelRecordPlan,
} from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { nativeAddon } from './native.js';

/**
 * The contract kernels the addon runs. Each crosses to the addon as one call with one record
 * laid out from the contract's data (kernelRecordPlan: inputs, outputs, sizes and attrs under
 * their contract names), so nothing depends on the order of arguments. On the CUDA path the
 * inputs cross to the device once and the outputs come back once.
 */
export const NATIVE_FORMS = ['forward', 'backward', 'step'] as const;

function bodyOf(form: (typeof NATIVE_FORMS)[number]): KernelBody {
  return (inputs, attrs) => {
    const plan = kernelRecordPlan(form, inputs, attrs);
    return {
      inputs: plan.inputs.map(([, info]) => info),
      outputShapes: plan.outputs.map(([, shape]) => shape),
      compute: (inputViews, outputViews) => {
        const record = {
          ...plan.scalars,
          ...Object.fromEntries(plan.inputs.map(([name], i) => [name, inputViews[i]])),
          ...Object.fromEntries(plan.outputs.map(([name], i) => [name, outputViews[i]])),
        };
        // The addon checks every field of the record by name, type and length.
        nativeAddon()[form](record as never);
      },
    };
  };
}

const configs = (backendName: HostBackendName): KernelConfig[] =>
  NATIVE_FORMS.map((form) => {
    const { kernelName } = kernelContracts[form];
    return {
      kernelName,
      backendName,
      kernelFunc: kernelFuncFor(backendName, kernelName, bodyOf(form)),
    };
  });

/**
 * Every kernel this package provides: forward, backward and step for the tfjs `cpu`, `wasm`
 * and `tensorflow` (tfjs-node) backends.
 */
export const kernelConfigs: readonly KernelConfig[] = [
  ...configs('cpu'),
  ...configs('wasm'),
  ...configs('tensorflow'),
];
