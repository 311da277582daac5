import '@tensorflow/tfjs-backend-wasm';
import { describeBackendConformance } from '@elementwise/conformance';

// The composite path (no fused kernels) on tfjs's wasm backend, with NaN-poisoned outputs.
describeBackendConformance({ backend: 'wasm' });
