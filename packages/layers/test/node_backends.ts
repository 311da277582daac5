import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** The tfjs backends the suites run on in Node. */
export const BACKENDS = ['cpu', 'wasm'] as const;
