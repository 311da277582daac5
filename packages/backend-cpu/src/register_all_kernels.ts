import { type RegisterKernelsOptions, registerKernels } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import {
  elementwiseAttentionBackwardCpuConfig,
  elementwiseAttentionBackwardWasmConfig,
} from './kernels/ElementwiseAttentionBackward.js';
import {
  elementwiseAttentionForwardCpuConfig,
  elementwiseAttentionForwardWasmConfig,
} from './kernels/ElementwiseAttentionForward.js';
import {
  elementwiseAttentionGroupedStepCpuConfig,
  elementwiseAttentionGroupedStepWasmConfig,
} from './kernels/ElementwiseAttentionGroupedStep.js';
import {
  elementwiseAttentionStepCpuConfig,
  elementwiseAttentionStepWasmConfig,
} from './kernels/ElementwiseAttentionStep.js';
import { guardCreatedWasmBackend } from './wasm_heap.js';

/** Every kernel this package provides, for the tfjs `cpu` and `wasm` backends. */
export const kernelConfigs: readonly KernelConfig[] = [
  elementwiseAttentionForwardCpuConfig,
  elementwiseAttentionBackwardCpuConfig,
  elementwiseAttentionStepCpuConfig,
  elementwiseAttentionGroupedStepCpuConfig,
  elementwiseAttentionForwardWasmConfig,
  elementwiseAttentionBackwardWasmConfig,
  elementwiseAttentionStepWasmConfig,
  elementwiseAttentionGroupedStepWasmConfig,
];

/**
 * Registers the kernels with the tfjs engine, by backend name: neither backend is imported, so
 * an app needs only the one it uses. Importing the package does this already; calling it again
 * is harmless. Kernels of another adapter for `cpu` or `wasm` (e.g. `@elementwise/backend-node-cuda`)
 * are refused with an error naming it, or replaced with `{override: true}`.
 *
 * It also puts the malloc guard (./wasm_malloc_guard.ts) on the tfjs `wasm` backend as soon as
 * that exists: at once if tfjs has created it already, else through the wasm kernels'
 * `setupFunc`, which tfjs runs when `setBackend('wasm')` activates the backend. So every process
 * that imports this package is guarded on `wasm`, whether or not it runs one of our kernels.
 */
export function registerCpuKernels(options?: RegisterKernelsOptions): void {
  registerKernels('@elementwise/backend-cpu', kernelConfigs, options);
  guardCreatedWasmBackend();
}

// On import a conflict only warns: importing two adapters must not fail an import.
registerCpuKernels({ onConflict: 'warn' });
