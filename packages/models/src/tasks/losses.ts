import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-prediction cross-entropy in nats: logits [..., C], labels int32 [...] → [...], as
 * `logsumexp(logits) − logits[label]`, with the analytic gradient `(softmax(logits) − onehot) ·
 * dy`. It keeps only the logits for the backward pass: differentiated op by op, the log-softmax,
 * the one-hot labels and their product would stay on the tape, each as large as the logits.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  const classes = logits.shape[logits.rank - 1];
  const oneHot = () =>
    tf.reshape(tf.cast(tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, classes), 'float32'), [
      ...labels.shape,
      classes,
    ]);
  const axis = logits.rank - 1;
  const run = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const value = tf.tidy(() =>
      tf.sub(tf.logSumExp(input, axis), tf.sum(tf.mul(oneHot(), input), axis)),
    );
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [kept] = saved;
        const difference = tf.tidy(() => tf.sub(tf.softmax(kept), oneHot()));
        const dx = tf.mul(difference, tf.expandDims(dy as tf.Tensor, axis));
        difference.dispose();
        return [dx];
      },
    };
  });
  return run(logits);
}

/** Number of rows whose arg-max equals the label. */
export function correctCount(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.sum(
      tf.cast(tf.equal(tf.argMax(logits, logits.rank - 1), tf.cast(labels, 'int32')), 'float32'),
    ),
  );
}
