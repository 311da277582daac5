/**
 * `@elementwise/backend-node-cuda`: fused element-wise attention kernels for TensorFlow.js in
 * Node, run by a native addon on an NVIDIA GPU (CUDA) when one is usable and on CPU threads
 * otherwise. Importing this module registers them for the tfjs `cpu`, `wasm` and `tensorflow`
 * backends; `elementwiseAttention` and `elementwiseAttentionStep` from `@elementwise/attention`
 * then run them (and their gradients run the fused backward).
 */
import './register_all_kernels.js';

export { kernelConfigs } from './kernels.js';
export { type BackendInfo, backendInfo, type NativeInfo } from './native.js';
export { registerNodeCudaKernels } from './register_all_kernels.js';
