import { type RegisterKernelsOptions, registerKernels } from '@elementwise/attention/authoring';
import { getKernel, type KernelConfig, unregisterKernel } from '@tensorflow/tfjs-core';
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
 * package does this already; calling it again is harmless. Another adapter's kernels for
 * `webgl` are refused with an error naming it, or replaced with `{override: true}`. The webgl
 * backend itself is not imported: an app imports it as usual.
 */
export function registerWebGLKernels(options?: RegisterKernelsOptions): void {
  registerKernels('@elementwise/backend-webgl', kernelConfigs, options);
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

// On import a conflict only warns: importing two adapters must not fail an import.
registerWebGLKernels({ onConflict: 'warn' });
