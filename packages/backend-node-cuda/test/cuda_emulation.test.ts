import '@tensorflow/tfjs-backend-cpu';
import { fileURLToPath } from 'node:url';
import { describeBackendConformance } from '@elementwise/conformance';
import { describe, expect, it } from 'vitest';

// The CUDA kernels of native/cuda.cu, compiled by g++ against native/cuda_emulation.h (one host
// thread per CUDA thread, real block barriers), through the same binding and TypeScript side:
// their block reductions, chunked scans and suffix scans run the conformance kit where no GPU is.
// `pnpm test` builds the emulation addon first (scripts/build-native.mjs --emulate).
process.env.EW_ADDON = fileURLToPath(new URL('../build/Emulated/ew_cuda.node', import.meta.url));
const { backendInfo, registerNodeCudaKernels } = await import('../src/index.js');

describe('CUDA kernels under emulation', () => {
  it('the emulation addon selected its CUDA path', () => {
    expect(backendInfo()).toMatchObject({
      path: 'cuda',
      device: 'CUDA emulation on host threads (sm_00)',
    });
  });
});

describeBackendConformance({
  backend: 'cpu',
  setup: registerNodeCudaKernels,
  expectFused: ['forward', 'backward', 'step'],
  size: 'small',
});
