import * as tf from '@tensorflow/tfjs-core';

interface TapeState {
  activeTape: Array<{ saved?: tf.Tensor[] }> | null;
  gradientDepth: number;
}

/**
 * Frees what a gradient computation that threw left on tfjs's tape. tfjs keeps the tensors each
 * recorded op saved for its backward pass outside every tidy scope, and frees them only when
 * the backward pass completes; a forward pass that fails (a step that outgrew the wasm heap,
 * say) leaves them allocated for good. Only once no gradient computation is running.
 */
export function releaseAbandonedTape(): void {
  const state = tf.engine().state as unknown as TapeState;
  if (state.gradientDepth > 0 || state.activeTape === null) return;
  for (const node of state.activeTape) for (const tensor of node.saved ?? []) tensor.dispose();
  state.activeTape = null;
}
