import './wasm_paths.browser.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describeBackendConformance } from '@elementwise/conformance';
import { describe, expect, it } from 'vitest';
import { kernelsReady, registerCpuKernels } from '../src/index.js';

describe('in Chromium', () => {
  it('the series kernels run the WebAssembly SIMD build', async () => {
    // A browser's main thread compiles the module asynchronously: wait for it.
    expect(await kernelsReady()).toBe('wasm-simd');
  });
});

// The conformance kit in headless Chromium, on both backends, every kernel required fused.
// 'small' keeps the long-sequence case at L = 4096 on the shared test machine.
for (const backend of ['cpu', 'wasm']) {
  describeBackendConformance({
    backend,
    setup: registerCpuKernels,
    expectFused: ['forward', 'backward', 'step', 'groupedStep'],
    size: 'small',
  });
}
