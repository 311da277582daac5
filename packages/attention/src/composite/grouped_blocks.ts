import * as tf from '@tensorflow/tfjs-core';
import type { ForwardTensors } from '../contract_tensors.js';
import { isRecordingGradients } from '../gradient_recording.js';
import { type GroupedCall, groupedForwardComposite } from './grouped.js';

/**
 * Queries per block when a long causal grouped call runs block by block. The parallel form
 * holds [B, G, L, L] weights, 6.4 GB for a 10 000-character prompt at dModel 128 in groups of 8;
 * in blocks it holds [B, G, C, C] weights and [B, G, C, F] query features (C = 256, F = 3003:
 * 49 MB).
 */
export const GROUPED_BLOCK = 256;

/**
 * Grouped EA, causal calls that record no gradient (a prompt's prefill) in blocks of
 * {@link GROUPED_BLOCK} queries when longer than one: each block continues from the state the
 * blocks before it left, which the recurrent form makes exact. Memory is then linear in L.
 * Under a gradient the parallel form runs, whose backward recomputes its weights.
 */
export function groupedForward(
  inputs: ForwardTensors,
  call: GroupedCall,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const { order, causal, use } = call;
  const length = inputs.q.shape[1];
  if (!causal || order === 'exact' || length <= GROUPED_BLOCK || isRecordingGradients()) {
    return groupedForwardComposite(inputs, call);
  }
  const outputs: tf.Tensor[] = [];
  let state = { s: inputs.initialS, z: inputs.initialZ };
  for (let start = 0; start < length; start += GROUPED_BLOCK) {
    const size = Math.min(GROUPED_BLOCK, length - start);
    const [y, s, z] = tf.tidy(() => {
      const rows = (x: tf.Tensor3D) => tf.slice(x, [0, start, 0], [-1, size, -1]);
      return groupedForwardComposite(
        {
          q: rows(inputs.q),
          k: rows(inputs.k),
          v: rows(inputs.v),
          mask: tf.slice(inputs.mask, [0, start], [-1, size]),
          initialS: state.s,
          initialZ: state.z,
        },
        // The first block starts from the caller's state only if there is one.
        { ...call, use: { initial: start > 0 || use.initial, final: true } },
      );
    });
    outputs.push(y);
    // Each block's state is read by the next block only.
    if (start > 0) tf.dispose([state.s, state.z]);
    state = { s, z };
  }
  const y = tf.concat(outputs, 1) as tf.Tensor3D;
  tf.dispose(outputs);
  return [y, state.s, state.z];
}
