/**
 * `@elementwise/backend-webgpu`: fused element-wise attention kernels in WGSL for the
 * TensorFlow.js `webgpu` backend. Importing this module registers them; `elementwiseAttention`
 * and `elementwiseAttentionStep` from `@elementwise/attention` then run them (and their
 * gradients run the fused backward) whenever the `webgpu` backend is active.
 */
import './register_all_kernels.js';

export { elementwiseAttentionBackwardConfig } from './kernels/ElementwiseAttentionBackward.js';
export { elementwiseAttentionForwardConfig } from './kernels/ElementwiseAttentionForward.js';
export { elementwiseAttentionStepConfig } from './kernels/ElementwiseAttentionStep.js';
export { kernelConfigs, registerWebGPUKernels } from './register_all_kernels.js';
