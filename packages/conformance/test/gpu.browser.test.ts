import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { describeBackendConformance } from '@elementwise/conformance';

// The composite path on tfjs's GPU backends in headless Chromium (SwiftShader): software GPUs
// are slow, so the kit runs small; the float32 bounds hold there.
describeBackendConformance({ backend: 'webgl', size: 'small' });
describeBackendConformance({ backend: 'webgpu', size: 'small' });
