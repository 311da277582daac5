import { ElementwiseAttentionStep } from '@elementwise/attention';
import type { HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { seriesStep } from '../maths/series.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';
import { recordKernelBody } from './record_kernel_body.js';

/**
 * Fused recurrent step: inputs q, k, v [B,D], s, z [B,T,D]; outputs [y, nextS, nextZ].
 * O(T·D) per sequence whatever the position.
 */
const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(backendName, ElementwiseAttentionStep, recordKernelBody('step', seriesStep));

export const elementwiseAttentionStepCpuConfig = config('cpu');
export const elementwiseAttentionStepWasmConfig = config('wasm');
