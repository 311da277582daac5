import { type RegisterKernelsOptions, registerKernels } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
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
 * package does this already; calling it again is harmless. Another adapter's kernels for
 * `webgpu` are refused with an error naming it, or replaced with `{override: true}`.
 */
export function registerWebGPUKernels(options?: RegisterKernelsOptions): void {
  registerKernels('@elementwise/backend-webgpu', kernelConfigs, options);
}

// On import a conflict only warns: importing two adapters must not fail an import.
registerWebGPUKernels({ onConflict: 'warn' });
