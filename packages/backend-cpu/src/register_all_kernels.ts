import { getKernel, type KernelConfig, registerKernel } from '@tensorflow/tfjs-core';
import {
  elementwiseAttentionBackwardCpuConfig,
  elementwiseAttentionBackwardWasmConfig,
} from './kernels/ElementwiseAttentionBackward.js';
import {
  elementwiseAttentionForwardCpuConfig,
  elementwiseAttentionForwardWasmConfig,
} from './kernels/ElementwiseAttentionForward.js';
import {
  elementwiseAttentionStepCpuConfig,
  elementwiseAttentionStepWasmConfig,
} from './kernels/ElementwiseAttentionStep.js';

/** Every kernel this package provides, for the tfjs `cpu` and `wasm` backends. */
export const kernelConfigs: readonly KernelConfig[] = [
  elementwiseAttentionForwardCpuConfig,
  elementwiseAttentionBackwardCpuConfig,
  elementwiseAttentionStepCpuConfig,
  elementwiseAttentionForwardWasmConfig,
  elementwiseAttentionBackwardWasmConfig,
  elementwiseAttentionStepWasmConfig,
];

/**
 * Registers the kernels with the tfjs engine, by backend name: neither backend is imported, so
 * an app needs only the one it uses. Importing the package does this already; calling it again
 * is harmless (kernels already registered are left alone).
 */
export function registerCpuKernels(): void {
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}

registerCpuKernels();
