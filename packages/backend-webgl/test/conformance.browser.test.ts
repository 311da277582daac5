import '@tensorflow/tfjs-backend-webgl';
import { describeBackendConformance } from '@elementwise/conformance';
import { registerWebGLKernels } from '../src/index.js';
import { useWebGL } from './renderer.js';

// The conformance kit on tfjs's webgl backend in headless Chromium, every kernel required fused,
// float32 tolerances. 'small' keeps the software GPU's run short (long sequence: L = 4096).
describeBackendConformance({
  backend: 'webgl',
  setup: async () => {
    registerWebGLKernels();
    await useWebGL();
  },
  expectFused: ['forward', 'backward', 'step'],
  size: 'small',
});
