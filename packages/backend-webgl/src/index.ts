/**
 * `@elementwise/backend-webgl`: fused element-wise attention kernels (GLSL programs) for the
 * TensorFlow.js `webgl` backend. Importing this module registers them; `elementwiseAttention` and
 * `elementwiseAttentionStep` from `@elementwise/attention` then run them (and their gradients run
 * the fused backward) whenever `webgl` is the active backend.
 */
import './register_all_kernels.js';

export { elementwiseAttentionBackwardWebGLConfig } from './kernels/ElementwiseAttentionBackward.js';
export { elementwiseAttentionForwardWebGLConfig } from './kernels/ElementwiseAttentionForward.js';
export { elementwiseAttentionStepWebGLConfig } from './kernels/ElementwiseAttentionStep.js';
export { assertFloat32Textures, webglRenderer } from './precision.js';
export {
  kernelConfigs,
  registerWebGLKernels,
  unregisterWebGLKernels,
} from './register_all_kernels.js';
