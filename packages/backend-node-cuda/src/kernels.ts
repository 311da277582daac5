import { kernelContracts } from '@elementwise/attention';
import {
  backwardDims,
  forwardDims,
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
  stepDims,
} from '@elementwise/attention/authoring';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { nativeAddon } from './native.js';

/**
 * How one contract kernel crosses to the addon: one addon call with one record, whose fields are
 * the contract's names, so nothing depends on the order of arguments. On the CUDA path the inputs
 * cross to the device once and the outputs come back once.
 */
interface NativeKernel {
  /** The contract's form of the kernel, also the addon function that runs it. */
  form: 'forward' | 'backward' | 'step';
  /** Each output by contract name, and the input whose shape it has. */
  outputs: Readonly<Record<string, string>>;
  /** The record's sizes and attrs, after checking the call. */
  scalars(attrs: NamedAttrMap, inputs: Record<string, TensorInfo>): object;
}

/** Sizes and attrs of a forward or backward record, from the checked call. */
const attentionScalars = ({ order, causal, dims }: ReturnType<typeof forwardDims>) => ({
  batch: dims.batch,
  queries: dims.queries,
  keys: dims.keys,
  channels: dims.channels,
  order,
  causal,
});

/** The three contract kernels as the addon runs them. */
export const nativeKernels: readonly NativeKernel[] = [
  {
    form: 'forward',
    outputs: { y: 'q', finalS: 'initialS', finalZ: 'initialZ' },
    scalars: (attrs, inputs) => attentionScalars(forwardDims(attrs, inputs)),
  },
  {
    form: 'backward',
    outputs: { dq: 'q', dk: 'k', dv: 'v', dInitialS: 'initialS', dInitialZ: 'initialZ' },
    scalars: (attrs, inputs) => attentionScalars(backwardDims(attrs, inputs)),
  },
  {
    form: 'step',
    outputs: { y: 'q', nextS: 's', nextZ: 'z' },
    scalars: (attrs, inputs) => {
      const { order, batch, channels } = stepDims(attrs, inputs);
      return { batch, channels, order };
    },
  },
];

/** The kernel body of one native kernel: its record is built from the tensors' names. */
function bodyOf(kernel: NativeKernel): KernelBody {
  const inputNames = Object.keys(kernelContracts[kernel.form].inputs);
  const outputNames = Object.keys(kernel.outputs);
  return (inputs, attrs) => {
    const scalars = kernel.scalars(attrs, inputs);
    return {
      inputs: inputNames.map((name) => inputs[name]),
      outputShapes: outputNames.map((name) => inputs[kernel.outputs[name]].shape),
      compute: (inputViews, outputViews) => {
        const record = {
          ...scalars,
          ...Object.fromEntries(inputNames.map((name, i) => [name, inputViews[i]])),
          ...Object.fromEntries(outputNames.map((name, i) => [name, outputViews[i]])),
        };
        // The addon checks every field of the record by name, type and length.
        nativeAddon()[kernel.form](record as never);
      },
    };
  };
}

const configs = (backendName: HostBackendName): KernelConfig[] =>
  nativeKernels.map((kernel) => {
    const { kernelName } = kernelContracts[kernel.form];
    return {
      kernelName,
      backendName,
      kernelFunc: kernelFuncFor(backendName, kernelName, bodyOf(kernel)),
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
