import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describeBackendConformance } from '@elementwise/conformance';
import { backendInfo, registerNodeCudaKernels } from '../src/index.js';

// The published conformance kit through the addon, on both backends, with every kernel fused.
// Here the addon runs its host path (no CUDA driver, or EW_CUDA=off); on a machine with a GPU
// this file runs the CUDA path, and gpu.test.ts checks that it was taken.
console.log(`backend-node-cuda: ${JSON.stringify(backendInfo())}`);
for (const backend of ['cpu', 'wasm']) {
  describeBackendConformance({
    backend,
    setup: registerNodeCudaKernels,
    expectFused: ['forward', 'backward', 'step'],
  });
}
