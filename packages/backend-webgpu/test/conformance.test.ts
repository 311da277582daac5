import '@tensorflow/tfjs-backend-webgpu';
import { describeWebGPUConformance } from './conformance_suite.js';

// Node with Dawn (test/dawn_setup.ts provides navigator.gpu; it fails loudly without an adapter).
await describeWebGPUConformance('Node');
