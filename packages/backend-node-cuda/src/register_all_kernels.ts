import { type RegisterKernelsOptions, registerKernels } from '@elementwise/attention/authoring';
import { kernelConfigs } from './kernels.js';

/**
 * Registers the kernels with the tfjs engine, by backend name: no backend is imported, so an
 * app needs only the one it uses. Importing the package does this already; calling it again is
 * harmless. Kernels of another adapter for the same backends (e.g. `@elementwise/backend-cpu`)
 * are refused with an error naming it, or replaced with `{override: true}`.
 */
export function registerNodeCudaKernels(options?: RegisterKernelsOptions): void {
  registerKernels('@elementwise/backend-node-cuda', kernelConfigs, options);
}

// On import a conflict only warns: importing two adapters must not fail an import.
registerNodeCudaKernels({ onConflict: 'warn' });
