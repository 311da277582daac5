import * as tf from '@tensorflow/tfjs-core';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const CUBIC = 0.044715;

/**
 * GELU, tanh approximation (Hendrycks & Gimpel): `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`,
 * with an analytic gradient that keeps only x for the backward pass. Differentiated op by op,
 * the chain would keep seven tensors the size of x (the feed-forward's widest) on the tape.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const run = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const value = tf.tidy(() => tf.mul(tf.mul(input, 0.5), tf.add(1, tf.tanh(inner(input)))));
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [kept] = saved;
        // d/dx = 0.5 (1 + t) + 0.5 x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²), t = tanh(inner(x)).
        // Each tidy frees its temporaries, the width of the feed-forward, as soon as it can.
        const t = tf.tidy(() => tf.tanh(inner(kept)));
        const slope = tf.tidy(() =>
          tf.mul(
            tf.mul(tf.mul(kept, 0.5), tf.sub(1, tf.square(t))),
            tf.mul(tf.add(1, tf.mul(tf.square(kept), 3 * CUBIC)), SQRT_2_OVER_PI),
          ),
        );
        const derivative = tf.tidy(() => tf.add(tf.mul(tf.add(1, t), 0.5), slope));
        tf.dispose([t, slope]);
        return [tf.mul(dy as tf.Tensor, derivative)];
      },
    };
  });
  return run(x);
}

function inner(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), CUBIC)), SQRT_2_OVER_PI));
}
