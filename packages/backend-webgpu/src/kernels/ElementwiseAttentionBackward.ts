import {
  ElementwiseAttentionBackward,
  type ElementwiseAttentionBackwardInputs,
} from '@elementwise/attention';
import { backwardDims } from '@elementwise/attention/authoring';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { blockScanProgram } from '../programs/block_programs.js';
import { exactKeyProgram, exactQueryProgram } from '../programs/exact_programs.js';
import { scanGeometry } from '../programs/geometry.js';
import { wholeSequenceProgram } from '../programs/series_programs.js';
import { unpackProgram } from '../programs/unpack_program.js';
import { carryState, scanCarries } from '../series_passes.js';
import { emptyOutput, release, run, type WebGPUBackend, webgpuKernel } from '../webgpu_backend.js';

/**
 * Fused backward: inputs the six forward inputs plus dy, dFinalS, dFinalZ; outputs
 * [dq, dk, dv, dInitialS, dInitialZ].
 *
 * Series orders, O(t·L·D):
 * 1. the forward scan of the key moments (carries from the initial state);
 * 2. per query, from S(i), Z(i) (causal: the block rescanned from its carry; non-causal: the
 *    final state): ∂q_i, α_i = g_i/M_i, β_i = -g_i y_i/M_i and whether q_i was read divided
 *    by q^t, packed [B, Lq, 4, D];
 * 3. the reverse scan of the query adjoints α_i a_n q_i^n, β_i a_n q_i^n from dFinalS, dFinalZ:
 *    its first row is dInitialS, dInitialZ;
 * 4. per key, from A(j), B(j) (causal: suffix sums, the block rescanned backwards from its
 *    carry; non-causal: the totals): ∂k_j, ∂v_j, packed [B, L, 2, D].
 * 'exact': per query (∂q and its statistics), then per key (∂k, ∂v), O(Lq·L·D).
 */
function backward(
  webgpu: WebGPUBackend,
  { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ }: ElementwiseAttentionBackwardInputs,
  { order, causal, dims }: ReturnType<typeof backwardDims>,
): TensorInfo[] {
  const unpack = (packed: TensorInfo, slot: number) =>
    run(webgpu, unpackProgram(packed.shape, slot), [packed]);

  if (order === 'exact') {
    const queryStatistics = run(webgpu, exactQueryProgram(causal, q.shape), [q, k, v, mask, dy]);
    const keyGradients = run(webgpu, exactKeyProgram(causal, k.shape), [
      q,
      dy,
      queryStatistics,
      k,
      v,
      mask,
    ]);
    const outputs = [
      unpack(queryStatistics, 0),
      unpack(keyGradients, 0),
      unpack(keyGradients, 1),
      emptyOutput(webgpu, initialS.shape),
      emptyOutput(webgpu, initialZ.shape),
    ];
    release(webgpu, queryStatistics, keyGradients);
    return outputs;
  }

  const geometry = scanGeometry(order);
  const { batch, keys, channels } = dims;
  const moments = scanCarries(webgpu, geometry, 'keys', [k, v, mask], [initialS, initialZ], false);
  let queryInfo: TensorInfo;
  if (causal) {
    queryInfo = run(webgpu, blockScanProgram(geometry, 'queryGradients', batch, keys, channels), [
      k,
      v,
      mask,
      q,
      dy,
      moments,
    ]);
    release(webgpu, moments);
  } else {
    const [finalS, finalZ] = carryState(webgpu, geometry, moments, 'last');
    release(webgpu, moments);
    queryInfo = run(webgpu, wholeSequenceProgram(geometry, 'queryGradients', q.shape), [
      q,
      dy,
      finalS,
      finalZ,
    ]);
    release(webgpu, finalS, finalZ);
  }

  const adjoints = scanCarries(
    webgpu,
    geometry,
    'queries',
    [q, queryInfo],
    [dFinalS, dFinalZ],
    true,
  );
  const [dInitialS, dInitialZ] = carryState(webgpu, geometry, adjoints, 'first');
  const keyGradients = causal
    ? run(webgpu, blockScanProgram(geometry, 'keyGradients', batch, keys, channels), [
        q,
        queryInfo,
        k,
        v,
        mask,
        adjoints,
      ])
    : run(webgpu, wholeSequenceProgram(geometry, 'keyGradients', k.shape), [
        k,
        v,
        mask,
        dInitialS,
        dInitialZ,
      ]);
  const outputs = [
    unpack(queryInfo, 0),
    unpack(keyGradients, 0),
    unpack(keyGradients, 1),
    dInitialS,
    dInitialZ,
  ];
  release(webgpu, adjoints, queryInfo, keyGradients);
  return outputs;
}

export const elementwiseAttentionBackwardConfig = webgpuKernel(
  ElementwiseAttentionBackward,
  backwardDims,
  backward,
);
