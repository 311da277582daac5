import {
  ElementwiseAttentionForward,
  type ElementwiseAttentionInputs,
} from '@elementwise/attention';
import { forwardDims } from '@elementwise/attention/authoring';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { blockScanProgram } from '../programs/block_programs.js';
import { exactForwardProgram } from '../programs/exact_programs.js';
import { scanGeometry } from '../programs/geometry.js';
import { readQueriesProgram } from '../programs/series_programs.js';
import { carryState, scanCarries } from '../series_passes.js';
import { emptyOutput, release, run, type WebGPUBackend } from '../webgpu_backend.js';

/**
 * Fused forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ].
 *
 * Series orders: the blocked scan of the key moments gives the carries (and the final state in
 * their last row); causal queries then rescan their block from its carry and read y at every
 * position, non-causal queries read the final state. 'exact': the quadratic program; the empty
 * states pass through. Five dispatches for a causal call, whatever L.
 */
const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = backend as WebGPUBackend;
  const { order, causal, dims } = forwardDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const { q, k, v, mask, initialS, initialZ } = inputs as unknown as ElementwiseAttentionInputs;
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
        q,
        k,
        v,
        mask,
        carries,
      ])
    : run(webgpu, readQueriesProgram(geometry, q.shape), [q, finalS, finalZ]);
  release(webgpu, carries);
  return [y, finalS, finalZ];
};

export const elementwiseAttentionForwardConfig: KernelConfig = {
  kernelName: ElementwiseAttentionForward,
  backendName: 'webgpu',
  kernelFunc: forward,
};
