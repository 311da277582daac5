import { ElementwiseAttentionForward } from '@elementwise/attention';
import type { HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactForward } from '../maths/exact.js';
import type { ForwardRecord } from '../maths/records.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';
import { recordKernelBody } from './record_kernel_body.js';

/**
 * Fused forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ].
 * Series orders: one pass over the keys for the moments and one over the queries (causal: a
 * single pass with running moments). 'exact': the quadratic form; the empty state passes through.
 */
const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(
    backendName,
    ElementwiseAttentionForward,
    recordKernelBody('forward', (call: ForwardRecord<'exact'> | ForwardRecord) =>
      call.order === 'exact' ? exactForward(call) : series(backendName).forward(call),
    ),
  );

export const elementwiseAttentionForwardCpuConfig = config('cpu');
export const elementwiseAttentionForwardWasmConfig = config('wasm');
