import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describeBackendConformance } from '@elementwise/conformance';
import { registerCpuKernels } from '../src/index.js';

// The published conformance kit, on both backends, with every kernel required to be fused.
for (const backend of ['cpu', 'wasm']) {
  describeBackendConformance({
    backend,
    setup: registerCpuKernels,
    expectFused: ['forward', 'backward', 'step', 'groupedStep'],
  });
}
