import * as tf from '@tensorflow/tfjs-core';

/** Per-prediction cross-entropy in nats: logits [..., C], labels int32 [...] → [...]. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1];
    const oneHot = tf.cast(tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, classes), 'float32');
    const logProbabilities = tf.reshape(tf.logSoftmax(logits), [-1, classes]);
    return tf.reshape(tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), 1)), labels.shape);
  });
}

/** Number of rows whose arg-max equals the label. */
export function correctCount(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.sum(
      tf.cast(tf.equal(tf.argMax(logits, logits.rank - 1), tf.cast(labels, 'int32')), 'float32'),
    ),
  );
}
