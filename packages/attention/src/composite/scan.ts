import * as tf from '@tensorflow/tfjs-core';

/**
 * Chunk length of the two-level scan. A float32 running sum over n terms carries an error that
 * grows with n; splitting the axis into chunks of C and scanning the chunk totals separately
 * bounds the terms any output accumulates to about C + L/C (recursively, C·log_C L).
 */
const CHUNK = 64;

/**
 * Inclusive (or exclusive) prefix sum along the last axis, accurate for long axes.
 * `reverse` scans from the end (a suffix sum), as the causal backward needs.
 */
export function scanLastAxis(x: tf.Tensor, reverse = false, exclusive = false): tf.Tensor {
  const axis = x.rank - 1;
  const length = x.shape[axis];
  if (length <= 2 * CHUNK) {
    return tf.cumsum(x, axis, exclusive, reverse);
  }
  return tf.tidy(() => {
    const chunks = Math.ceil(length / CHUNK);
    const padded = length === chunks * CHUNK ? x : padLastAxis(x, chunks * CHUNK - length, reverse);
    const lead = x.shape.slice(0, axis);
    const blocks = tf.reshape(padded, [...lead, chunks, CHUNK]);
    const within = tf.cumsum(blocks, axis + 1, exclusive, reverse);
    const totals = tf.sum(blocks, axis + 1);
    const carries = tf.expandDims(scanLastAxis(totals, reverse, true), axis + 1);
    const scanned = tf.reshape(tf.add(within, carries), [...lead, chunks * CHUNK]);
    if (scanned.shape[axis] === length) return scanned;
    // Padding sits at the end the scan moves towards, so dropping it leaves every sum intact.
    const begin = reverse ? chunks * CHUNK - length : 0;
    return tf.slice(scanned, [...lead.map(() => 0), begin], [...lead, length]);
  });
}

/** Zero-pads the last axis; a reverse scan pads at the front so its sums are unaffected. */
function padLastAxis(x: tf.Tensor, count: number, atFront: boolean): tf.Tensor {
  const paddings: Array<[number, number]> = x.shape.map(() => [0, 0]);
  paddings[x.rank - 1] = atFront ? [count, 0] : [0, count];
  return tf.pad(x, paddings);
}
