import { elementwiseAttention } from '@elementwise/attention';
import { eaBackward, eaForward, type Order, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';

/** q, k, v and the output's cotangent g, each [B, L, D]. */
export interface OracleInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  g: Float32Array;
  shape: [number, number, number];
}

/**
 * Runs the op on the active backend, its output and the gradients of Σ y·g, and compares them
 * with the float64 oracle: every relative RMS error must be within 1e-5 and no tensor may leak.
 * Returns the errors as one line of the consumer's log.
 */
export function compareWithOracle(
  check: (condition: boolean, message: string) => void,
  where: string,
  inputs: OracleInputs,
  options: { order: Order; causal: boolean },
): string {
  const [batch, length, channels] = inputs.shape;
  const oracle = {
    q: inputs.q,
    k: inputs.k,
    v: inputs.v,
    dims: { batch, queryLength: length, keyLength: length, channels },
  };
  const want = eaBackward(oracle, inputs.g, options);
  const [q, k, v, g] = [inputs.q, inputs.k, inputs.v, inputs.g].map((x) =>
    tf.tensor3d(x, inputs.shape),
  );
  const before = tf.memory().numTensors;
  const attention = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    elementwiseAttention(a, b, c, options) as tf.Tensor3D;
  const y = attention(q, k, v);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(attention(a, b, c), g)),
  )([q, k, v]);
  const errors = {
    y: relativeRmsError(eaForward(oracle, options).y, y.dataSync()),
    dq: relativeRmsError(want.dq, grads[0].dataSync()),
    dk: relativeRmsError(want.dk, grads[1].dataSync()),
    dv: relativeRmsError(want.dv, grads[2].dataSync()),
  };
  tf.dispose([y, ...grads]);
  check(tf.memory().numTensors === before, `${where}: tensors leaked`);
  for (const [name, error] of Object.entries(errors)) {
    check(error <= 1e-5, `${where}: ${name} relative RMS error ${error} > 1e-5`);
  }
  tf.dispose([q, k, v, g]);
  return Object.entries(errors)
    .map(([name, error]) => `${name} ${error.toExponential(2)}`)
    .join(', ');
}
