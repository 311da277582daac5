import { isRecordingGradients } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';

/**
 * x [N, in] · w [in, out] with a backward whose matMuls carry no transpose flags:
 * dx = dy · (wᵀ) and dw = (xᵀ) · dy with the transposes done explicitly. tfjs's own matMul
 * gradient uses the flags, and on the wasm backend a flagged matMul leaves XNNPACK for a loop
 * several times slower; an explicit transpose costs one pass over the operand.
 */
export function matMulUnflagged(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  // Outside a gradient computation the custom gradient is only overhead.
  if (!isRecordingGradients()) return tf.matMul(x, w);
  const multiply = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, weight] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    const value = tf.matMul(input, weight) as tf.Tensor2D;
    save([input, weight]);
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [savedInput, savedWeight] = saved as tf.Tensor2D[];
        return [tf.matMul(dy, tf.transpose(savedWeight)), tf.matMul(tf.transpose(savedInput), dy)];
      },
    };
  });
  return multiply(x, w) as tf.Tensor2D;
}

/** y = x·kernel (+ bias) over the last axis of x (rank >= 2), through {@link matMulUnflagged}. */
export function project(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  const [inputs, outputs] = kernel.shape as [number, number];
  const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, inputs])) as tf.Tensor2D;
  let y: tf.Tensor = matMulUnflagged(flat, kernel as tf.Tensor2D);
  if (bias !== null) y = tf.add(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outputs]);
}
