import '@tensorflow/tfjs-backend-webgpu';
import { describeBackendConformance } from '@elementwise/conformance';
import { registerWebGPUKernels } from '../src/index.js';
import { describeAdapter } from './adapter.js';
import { watchDeviceErrors } from './device_errors.js';
import { webgpuOutputPoisoner } from './nan_poisoner.js';

// Headless Chromium with --enable-unsafe-webgpu (SwiftShader here). Software GPUs are slow, so
// the kit runs at its small size.
console.log(`[webgpu] Chromium adapter: ${await describeAdapter()}`);

const deviceErrors = watchDeviceErrors();

describeBackendConformance({
  backend: 'webgpu',
  size: 'small',
  setup: async () => {
    registerWebGPUKernels();
    await deviceErrors.start();
  },
  expectFused: ['forward', 'backward', 'step'],
  poisonOutputs: webgpuOutputPoisoner,
});
