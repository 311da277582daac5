import { getKernel, registerKernel } from '@tensorflow/tfjs-core';
import { kernelConfigs } from './kernels.js';

/**
 * Registers the kernels with the tfjs engine, by backend name: no backend is imported, so an
 * app needs only the one it uses. Importing the package does this already; calling it again is
 * harmless (kernels already registered for a name and backend are left alone).
 */
export function registerNodeCudaKernels(): void {
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}

registerNodeCudaKernels();
