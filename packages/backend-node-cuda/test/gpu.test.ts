import '@tensorflow/tfjs-backend-cpu';
import { describeBackendConformance } from '@elementwise/conformance';
import { describe, expect, it } from 'vitest';
import { backendInfo, registerNodeCudaKernels } from '../src/index.js';

// The conformance kit on the CUDA path. Runs only where the addon selected a CUDA device;
// elsewhere every test of this file is reported as skipped, never passed.
const info = backendInfo();
const onGpu = info.path === 'cuda';

if (onGpu) {
  describe('CUDA path', () => {
    it('runs on a CUDA device', () => {
      expect(info.path).toBe('cuda');
      console.log(`backend-node-cuda: CUDA device ${info.path === 'cuda' ? info.device : ''}`);
    });
  });
  describeBackendConformance({
    backend: 'cpu',
    setup: registerNodeCudaKernels,
    expectFused: ['forward', 'backward', 'step'],
  });
} else {
  console.warn(`\n*** SKIPPED: no CUDA device (${info.reason}) ***\n`);
  describe.skip(`CUDA path — SKIPPED: no CUDA device (${info.reason})`, () => {
    it('conformance kit on the CUDA device', () => {});
  });
}
