/**
 * `@elementwise/backend-cpu`: fused element-wise attention kernels for the TensorFlow.js `cpu`
 * and `wasm` backends. Importing this module registers them; `elementwiseAttention` and
 * `elementwiseAttentionStep` from `@elementwise/attention` then run them (and their gradients
 * run the fused backward) whenever one of these backends is active.
 */
import './register_all_kernels.js';

export {
  type KernelImplementation,
  kernelImplementation,
  kernelsReady,
  setSimdEnabled,
} from './implementation.js';
export {
  elementwiseAttentionBackwardCpuConfig,
  elementwiseAttentionBackwardWasmConfig,
} from './kernels/ElementwiseAttentionBackward.js';
export {
  elementwiseAttentionForwardCpuConfig,
  elementwiseAttentionForwardWasmConfig,
} from './kernels/ElementwiseAttentionForward.js';
export {
  elementwiseAttentionStepCpuConfig,
  elementwiseAttentionStepWasmConfig,
} from './kernels/ElementwiseAttentionStep.js';
export { kernelConfigs, registerCpuKernels } from './register_all_kernels.js';
export { WasmHeapExhaustedError } from './wasm_malloc_guard.js';
