import { getKernel, type KernelConfig, registerKernel } from '@tensorflow/tfjs-core';
import { elementwiseAttentionBackwardConfig } from './kernels/ElementwiseAttentionBackward.js';
import { elementwiseAttentionForwardConfig } from './kernels/ElementwiseAttentionForward.js';
import { elementwiseAttentionStepConfig } from './kernels/ElementwiseAttentionStep.js';

/** Every kernel this package provides, for the tfjs `webgpu` backend. */
export const kernelConfigs: readonly KernelConfig[] = [
  elementwiseAttentionForwardConfig,
  elementwiseAttentionBackwardConfig,
  elementwiseAttentionStepConfig,
];

/**
 * Registers the kernels with the tfjs engine for the backend named 'webgpu'. The backend
 * itself is not imported (in Node, `navigator.gpu` must exist before it is). Importing this
 * package does this already; calling it again is harmless (registered kernels are left alone).
 */
export function registerWebGPUKernels(): void {
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}

registerWebGPUKernels();
