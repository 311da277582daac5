import {
  getKernel,
  type KernelConfig,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { elementwiseAttentionBackwardWebGLConfig } from './kernels/ElementwiseAttentionBackward.js';
import { elementwiseAttentionForwardWebGLConfig } from './kernels/ElementwiseAttentionForward.js';
import { elementwiseAttentionStepWebGLConfig } from './kernels/ElementwiseAttentionStep.js';

/** Every kernel this package provides, for the tfjs `webgl` backend. */
export const kernelConfigs: readonly KernelConfig[] = [
  elementwiseAttentionForwardWebGLConfig,
  elementwiseAttentionBackwardWebGLConfig,
  elementwiseAttentionStepWebGLConfig,
];

/**
 * Registers the kernels with the tfjs engine under the backend name `'webgl'`. Importing the
 * package does this already; calling it again is harmless (kernels already registered are left
 * alone). The webgl backend itself is not imported: an app imports it as usual.
 */
export function registerWebGLKernels(): void {
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}

/**
 * Removes this package's kernels (only those it registered), so `elementwiseAttention` runs its
 * composite implementation on `webgl` again. {@link registerWebGLKernels} brings them back.
 */
export function unregisterWebGLKernels(): void {
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName)?.kernelFunc === config.kernelFunc) {
      unregisterKernel(config.kernelName, config.backendName);
    }
  }
}

registerWebGLKernels();
