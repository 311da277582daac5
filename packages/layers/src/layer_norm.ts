import * as tf from '@tensorflow/tfjs-core';

/**
 * LayerNorm over the last axis, `(x − mean) / √(var + ε) · gain + bias`, with an analytic
 * gradient that keeps only x, gain and bias for the backward pass (it recomputes the mean and
 * the scale there). Differentiated op by op, the chain would keep five tensors the size of x.
 */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
  epsilon: number,
): tf.Tensor {
  const axis = x.rank - 1;
  const normalize = (input: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, axis, true);
    return tf.mul(tf.sub(input, mean), tf.rsqrt(tf.add(variance, epsilon)));
  };
  const run = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const value = tf.tidy(() => tf.add(tf.mul(normalize(input), g), b));
    save([input, g]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [kept, keptGain] = saved;
        const upstream = dy as tf.Tensor;
        // Each tidy frees its temporaries as soon as it can.
        const scale = tf.tidy(() =>
          tf.rsqrt(tf.add(tf.moments(kept, axis, true).variance, epsilon)),
        );
        const normalized = tf.tidy(() => tf.mul(tf.sub(kept, tf.mean(kept, axis, true)), scale));
        const dNormalized = tf.mul(upstream, keptGain);
        // dx = scale · (dn − mean(dn) − n · mean(dn · n)) over the normalised axis.
        const dx = tf.tidy(() =>
          tf.mul(
            scale,
            tf.sub(
              tf.sub(dNormalized, tf.mean(dNormalized, axis, true)),
              tf.mul(normalized, tf.mean(tf.mul(dNormalized, normalized), axis, true)),
            ),
          ),
        );
        const rows = Array.from({ length: axis }, (_, i) => i);
        const dGain = tf.tidy(() => tf.sum(tf.mul(upstream, normalized), rows));
        tf.dispose([scale, normalized, dNormalized]);
        return [dx, dGain, tf.sum(upstream, rows)];
      },
    };
  });
  return run(x, gain, bias);
}
