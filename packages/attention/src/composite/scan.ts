import * as tf from '@tensorflow/tfjs-core';

/**
 * Chunk length of the two-level scan. A float32 running sum over n terms carries an error that
 * grows with n; splitting the axis into chunks of C and scanning the chunk totals separately
 * bounds the terms any output accumulates to about C + L/C (recursively, C·log_C L).
 */
const CHUNK = 64;

/**
 * Inclusive prefix sum along the last axis, accurate for long axes. `reverse` gives the suffix
 * sum the causal backward needs.
 */
export function scanLastAxis(x: tf.Tensor, reverse = false): tf.Tensor {
  if (reverse && tf.getBackend() === 'webgpu') {
    // tfjs-backend-webgpu 4.22 returns wrong sums for reverse (and exclusive) cumsums on many
    // shapes (measured in Chromium: errors of order 10 on [1, 9, 50]); its forward cumsum is
    // right, so scan the flipped axis there. Elsewhere the flips would cost more than the scan.
    return tf.tidy(() => tf.reverse(chunkedCumsum(tf.reverse(x, -1), false), -1));
  }
  return chunkedCumsum(x, reverse);
}

function chunkedCumsum(x: tf.Tensor, reverse: boolean): tf.Tensor {
  const axis = x.rank - 1;
  const length = x.shape[axis];
  if (length <= 2 * CHUNK) return tf.cumsum(x, axis, false, reverse);
  return tf.tidy(() => {
    const chunks = Math.ceil(length / CHUNK);
    const padding = chunks * CHUNK - length;
    const lead = x.shape.slice(0, axis);
    // Zero padding at the end the scan finishes on leaves every kept sum intact.
    const paddings: Array<[number, number]> = x.shape.map(() => [0, 0]);
    paddings[axis] = reverse ? [padding, 0] : [0, padding];
    const blocks = tf.reshape(tf.pad(x, paddings), [...lead, chunks, CHUNK]);
    const within = tf.cumsum(blocks, axis + 1, false, reverse);
    const totals = tf.sum(blocks, axis + 1);
    // What the chunks before each one (after it, when reversed) add up to.
    const carries = tf.expandDims(tf.sub(chunkedCumsum(totals, reverse), totals), axis + 1);
    const scanned = tf.reshape(tf.add(within, carries), [...lead, chunks * CHUNK]);
    return tf.slice(scanned, [...lead.map(() => 0), reverse ? padding : 0], [...lead, length]);
  });
}
