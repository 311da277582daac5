import { isRecordingGradients } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';

/**
 * `run(x, ...constants)`, keeping for the backward pass only its inputs (gradient
 * checkpointing): the activations inside `run` are freed as soon as it returns, and the backward
 * pass runs it again to differentiate it. The gradients are those of `run` with respect to x and
 * `variables` (every variable `run` reads: `tf.customGrad` sees only the tensors it is given);
 * `constants` (a padding mask, say) get none. `run` must compute the same function both times:
 * seed any randomness in it. Outside a gradient computation this is `run(x, ...constants)`.
 *
 * With `rowsPerChunk`, `run` must work position by position (a feed-forward without dropout:
 * row i of its output depends on row i of x only), and the backward pass differentiates it
 * over `rowsPerChunk` positions at a time, so it holds that many positions' activations and
 * gradients, not x's.
 */
export function recomputeInBackward(
  run: (x: tf.Tensor, ...constants: tf.Tensor[]) => tf.Tensor,
  x: tf.Tensor,
  constants: tf.Tensor[],
  variables: tf.Variable[],
  rowsPerChunk?: number,
): tf.Tensor {
  if (!isRecordingGradients()) return run(x, ...constants);
  const checkpointed = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, 1 + constants.length) as tf.Tensor[];
    const value = run(inputs[0], ...inputs.slice(1));
    save(inputs);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [again, ...kept] = saved;
        const upstream = dy as tf.Tensor;
        // d/d(x, w) of sum(run(x) · dy): the vector-Jacobian products of x and every variable.
        const vectorJacobian = (input: tf.Tensor, dOutput: tf.Tensor) =>
          isolatedFromOuterTape(() =>
            tf.grads((i: tf.Tensor) => tf.sum(tf.mul(run(i, ...kept), dOutput)))([
              input,
              ...variables,
            ]),
          );
        const [dx, ...dw] =
          rowsPerChunk === undefined
            ? vectorJacobian(again, upstream)
            : byRows(again, upstream, rowsPerChunk, vectorJacobian);
        // No gradient flows to the constants; float32 zeros are what tfjs accepts if it asks.
        return [dx, ...kept.map((constant) => tf.zeros(constant.shape)), ...dw];
      },
    };
  });
  return checkpointed(x, ...constants, ...variables);
}

/**
 * The vector-Jacobian products of a position-wise function over `rows` positions at a time:
 * dx chunk by chunk, the variables' gradients summed over the chunks.
 */
function byRows(
  x: tf.Tensor,
  dy: tf.Tensor,
  rows: number,
  vectorJacobian: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor[],
): tf.Tensor[] {
  const width = x.shape[x.rank - 1] as number;
  const total = x.size / width;
  const flatX = tf.reshape(x, [total, width]);
  const flatDy = tf.reshape(dy, [total, -1]);
  const dxs: tf.Tensor[] = [];
  let dws: tf.Tensor[] = [];
  for (let start = 0; start < total; start += rows) {
    const size = Math.min(rows, total - start);
    const [dx, ...dw] = tf.tidy(() =>
      vectorJacobian(
        tf.slice(flatX, [start, 0], [size, width]),
        tf.slice(flatDy, [start, 0], [size, -1]),
      ),
    );
    dxs.push(dx);
    const summed = dws.length === 0 ? dw : dws.map((sum, i) => tf.add(sum, dw[i]));
    if (dws.length > 0) tf.dispose([...dws, ...dw]);
    dws = summed;
  }
  const dx = tf.reshape(tf.concat(dxs, 0), x.shape);
  tf.dispose([flatX, flatDy, ...dxs]);
  return [dx, ...dws];
}

interface EngineState {
  activeTape: unknown;
}

/**
 * Runs a gradient computation inside another one's backward pass. tfjs keeps one active tape
 * in its engine state, and a gradient computation that starts and ends while no forward pass
 * is recording (as in a backward pass) replaces it and then clears it, which breaks the outer
 * computation's clean-up; the outer tape is put back afterwards.
 */
function isolatedFromOuterTape<T>(compute: () => T): T {
  const state = tf.engine().state as unknown as EngineState;
  const outer = state.activeTape;
  try {
    return compute();
  } finally {
    state.activeTape = outer;
  }
}
