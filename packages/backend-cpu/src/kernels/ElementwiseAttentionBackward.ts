import { ElementwiseAttentionBackward } from '@elementwise/attention';
import type { HostBackendName } from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { series } from '../implementation.js';
import { exactBackward } from '../maths/exact.js';
import type { BackwardRecord } from '../maths/records.js';
import { hostKernelConfig } from './heap_guarded_kernel.js';
import { recordKernelBody } from './record_kernel_body.js';

/**
 * Fused backward: inputs the six forward inputs plus dy, dFinalS, dFinalZ; outputs
 * [dq, dk, dv, dInitialS, dInitialZ]. O(t·L·D) with O(T·D) scratch for series orders; exact EA
 * has no state, so its state gradients are empty.
 */
const config = (backendName: HostBackendName): KernelConfig =>
  hostKernelConfig(
    backendName,
    ElementwiseAttentionBackward,
    recordKernelBody('backward', (call: BackwardRecord<'exact'> | BackwardRecord) =>
      call.order === 'exact' ? exactBackward(call) : series(backendName).backward(call),
    ),
  );

export const elementwiseAttentionBackwardCpuConfig = config('cpu');
export const elementwiseAttentionBackwardWasmConfig = config('wasm');
