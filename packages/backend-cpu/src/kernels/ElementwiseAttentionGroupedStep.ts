import { ElementwiseAttentionGroupedStep } from '@elementwise/attention';
import type { HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { groupedSeriesStep } from '../maths/grouped_step.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';
import { recordKernelBody } from './record_kernel_body.js';

/**
 * Fused grouped recurrent step: inputs q, k, v [B,D], s [B,F,D], z [B,F,G]; outputs
 * [y, nextS, nextZ]. O(F·D) per sequence whatever the position, in one pass over the state.
 */
const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(
    backendName,
    ElementwiseAttentionGroupedStep,
    recordKernelBody('groupedStep', groupedSeriesStep),
  );

export const elementwiseAttentionGroupedStepCpuConfig = config('cpu');
export const elementwiseAttentionGroupedStepWasmConfig = config('wasm');
