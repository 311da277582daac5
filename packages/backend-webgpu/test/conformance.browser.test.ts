import '@tensorflow/tfjs-backend-webgpu';
import { describeWebGPUConformance } from './conformance_suite.js';

// Headless Chromium with --enable-unsafe-webgpu (SwiftShader here).
await describeWebGPUConformance('Chromium');
