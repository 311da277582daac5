import { describeBackendConformance } from '@elementwise/conformance';
import { registerWebGPUKernels } from '../src/index.js';
import { describeAdapter } from './adapter.js';
import { watchDeviceErrors } from './device_errors.js';
import { webgpuOutputPoisoner } from './nan_poisoner.js';

/**
 * The conformance kit on tfjs's `webgpu` backend, every kernel required fused, at the kit's small
 * size (software GPUs are slow). `where` names the environment in the log line that shows the
 * adapter the numbers came from. Call at a test file's top level.
 */
export async function describeWebGPUConformance(where: string): Promise<void> {
  console.log(`[webgpu] ${where} adapter: ${await describeAdapter()}`);
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
}
