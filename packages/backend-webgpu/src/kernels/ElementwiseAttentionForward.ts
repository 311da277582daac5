import {
  ElementwiseAttentionForward,
  type ElementwiseAttentionInputs,
} from '@elementwise/attention';
import { forwardDims } from '@elementwise/attention/authoring';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { blockScanProgram } from '../programs/block_programs.js';
import { exactForwardProgram } from '../programs/exact_programs.js';
import { scanGeometry } from '../programs/geometry.js';
import { wholeSequenceProgram } from '../programs/series_programs.js';
import { carryState, scanCarries } from '../series_passes.js';
import { emptyOutput, release, run, type WebGPUBackend, webgpuKernel } from '../webgpu_backend.js';

/**
 * Fused forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ].
 *
 * Series orders: the blocked scan of the key moments gives the carries (and the final state in
 * their last row); causal queries then rescan their block from its carry and read y at every
 * position, non-causal queries read the final state. 'exact': the quadratic program; the empty
 * states pass through. Five dispatches for a causal call, whatever L.
 */
function forward(
  webgpu: WebGPUBackend,
  { q, k, v, mask, initialS, initialZ }: ElementwiseAttentionInputs,
  { order, causal, dims }: ReturnType<typeof forwardDims>,
): TensorInfo[] {
  if (order === 'exact') {
    const y = run(webgpu, exactForwardProgram(causal, q.shape), [q, k, v, mask]);
    return [y, emptyOutput(webgpu, initialS.shape), emptyOutput(webgpu, initialZ.shape)];
  }
  const geometry = scanGeometry(order);
  const carries = scanCarries(webgpu, geometry, 'keys', [k, v, mask], [initialS, initialZ], false);
  const [finalS, finalZ] = carryState(webgpu, geometry, carries, 'last');
  const { batch, keys, channels } = dims;
  const y = causal
    ? run(webgpu, blockScanProgram(geometry, 'attend', batch, keys, channels), [
        k,
        v,
        mask,
        q,
        carries,
      ])
    : run(webgpu, wholeSequenceProgram(geometry, 'attend', q.shape), [q, finalS, finalZ]);
  release(webgpu, carries);
  return [y, finalS, finalZ];
}

export const elementwiseAttentionForwardConfig = webgpuKernel(
  ElementwiseAttentionForward,
  forwardDims,
  forward,
);
