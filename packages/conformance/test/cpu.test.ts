import '@tensorflow/tfjs-backend-cpu';
import { describeBackendConformance } from '@elementwise/conformance';

// The composite path (no fused kernels) on tfjs's cpu backend.
describeBackendConformance({ backend: 'cpu' });
