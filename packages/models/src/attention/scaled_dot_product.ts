import * as tf from '@tensorflow/tfjs-core';
import { isRecordingGradients } from '../layers/matmul.js';

/** A finite stand-in for −∞: exp underflows to exactly 0 without ∞ − ∞ = NaN. */
const MASKED = -1e9;

/** Additive causal mask [1, L, L]: 0 where key j <= query i, MASKED above the diagonal. */
function causalMask(length: number): tf.Tensor3D {
  const values = new Float32Array(length * length);
  for (let r = 0; r < length - 1; r++) values.fill(MASKED, r * length + r + 1, (r + 1) * length);
  return tf.tensor3d(values, [1, length, length]);
}

function transposeLast(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/**
 * softmax(q·kᵀ/√d + mask)·v for q [N, Lq, d], k and v [N, L, d] (N = batch × heads), with an
 * explicit backward. Every matMul runs without transpose flags — on tfjs's wasm backend a flagged
 * matMul leaves XNNPACK for a loop about ten times slower — and only [L, d]-sized operands are
 * ever transposed, never an [L, L] one. The backward uses δ_i = Σ_d dy_id y_id in place of the
 * row sums of P ⊙ dP:
 *   dP = dy·vᵀ,  dS = P ⊙ (dP − δ),  dq = dS·k/√d,  dkᵀ = (q/√d)ᵀ·dS,  dvᵀ = dyᵀ·P.
 * `causal` needs Lq = L.
 */
export function scaledDotProductAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  causal: boolean,
): tf.Tensor3D {
  const scale = 1 / Math.sqrt(q.shape[2]);
  if (!isRecordingGradients()) return attendForward(q, k, v, scale, causal).y;
  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [query, keys, values] = args as tf.Tensor3D[];
    const save = args[3] as tf.GradSaveFunc;
    const { scaledQuery, probabilities, y } = attendForward(query, keys, values, scale, causal);
    save([scaledQuery, keys, values, y, probabilities]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sq, kk, vv, yy, p] = saved as tf.Tensor3D[];
        const delta = tf.sum(tf.mul(dy, yy), 2, true);
        const dp = tf.matMul(dy, transposeLast(vv));
        const ds = tf.mul(p, tf.sub(dp, delta)) as tf.Tensor3D;
        const dq = tf.mul(tf.matMul(ds, kk), scale);
        const dk = transposeLast(tf.matMul(transposeLast(sq), ds));
        const dv = transposeLast(tf.matMul(transposeLast(dy), p));
        return [dq, dk, dv];
      },
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

function attendForward(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  scale: number,
  causal: boolean,
): { scaledQuery: tf.Tensor3D; probabilities: tf.Tensor3D; y: tf.Tensor3D } {
  const scaledQuery = tf.mul(q, scale) as tf.Tensor3D;
  let scores = tf.matMul(scaledQuery, transposeLast(k));
  if (causal) scores = tf.add(scores, causalMask(k.shape[1]));
  const probabilities = tf.softmax(scores) as tf.Tensor3D;
  return { scaledQuery, probabilities, y: tf.matMul(probabilities, v) as tf.Tensor3D };
}
