import * as tf from '@tensorflow/tfjs-core';

/**
 * Causal sums along the last axis of [B, D, L] tensors whose position i carries the factor
 * 2^{E_i} of ./feature_scale.ts (E never rises along the axis):
 *   forward  G_i = Σ_{j <= i} 2^{E_i - E_j} x_j   (the moments, each at its query's scale)
 *   reverse  H_j = Σ_{i >= j} 2^{E_i - E_j} x_i + 2^{E_last - E_j} u   (their adjoints, each at
 *            its key's scale; u, [B, D, 1], is the adjoint of the final state)
 */
export interface CausalScan {
  forward(x: tf.Tensor): tf.Tensor;
  reverse(x: tf.Tensor, u: tf.Tensor): tf.Tensor;
}

/**
 * The scan for exponents E of shape [B, D, 1] (one per channel: plain prefix sums) or
 * [B, D, L] (one per position). Call it inside the caller's tf.tidy, which also releases what
 * it keeps.
 */
export function causalScan(exponent: tf.Tensor3D): CausalScan {
  if (exponent.shape[2] === 1)
    return {
      forward: (x) => scanLastAxis(x, false),
      reverse: (x, u) => tf.add(scanLastAxis(x, true), u),
    };
  return new ScaledScan(exponent);
}

/**
 * {@link CausalScan} with E per position. Every factor is at most 1: a share that underflows is
 * one that float32 could not have added to a nearer key's anyway, and nothing overflows.
 *
 * A doubling scan (log2 L steps of `x += factor · shifted x`): a plain prefix sum cannot carry
 * the changing scale without dividing by 2^{E_j}, which overflows. Each output is a sum of log2 L
 * partial sums, so long sequences do not drift as a running float32 sum would.
 */
class ScaledScan implements CausalScan {
  /** Per step s, 2^{E_i - E_{i-w}} at i >= w (w = 2^s), 1 before. */
  private readonly factors: tf.Tensor3D[] = [];
  /** 2^{E_last - E_j}, [B, D, L]. */
  private readonly fromLast: tf.Tensor3D;

  /** exponent: [B, D, L], never rising along the last axis. */
  constructor(exponent: tf.Tensor3D) {
    const [batch, channels, length] = exponent.shape;
    const last = tf.slice(exponent, [0, 0, length - 1], [batch, channels, 1]);
    this.fromLast = tf.pow(2, tf.sub(last, exponent)) as tf.Tensor3D;
    for (let shift = 1; shift < length; shift *= 2) {
      const factor = tf.tidy(() => {
        const earlier = tf.concat(
          [
            tf.slice(exponent, [0, 0, 0], [batch, channels, shift]),
            tf.slice(exponent, [0, 0, 0], [batch, channels, length - shift]),
          ],
          2,
        );
        // pow(2, n) is exact for integer n; n <= 0 here, and far below -149 it is 0.
        return tf.pow(2, tf.sub(exponent, earlier)) as tf.Tensor3D;
      });
      this.factors.push(factor);
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let sums = x;
      this.factors.forEach((factor, step) => {
        sums = tf.add(sums, tf.mul(factor, shiftedLater(sums, 2 ** step)));
      });
      return sums;
    });
  }

  reverse(x: tf.Tensor, u: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let sums = x;
      this.factors.forEach((factor, step) => {
        sums = tf.add(sums, shiftedEarlier(tf.mul(factor, sums), 2 ** step));
      });
      return tf.add(sums, tf.mul(u, this.fromLast));
    });
  }
}

/** y_i = x_{i-w} along the last axis of [B, D, L], `fill` for i < w. */
export function shiftedLater(x: tf.Tensor, shift: number, fill = 0): tf.Tensor {
  const [batch, channels, length] = x.shape as [number, number, number];
  return tf.concat(
    [
      tf.fill([batch, channels, shift], fill),
      tf.slice(x, [0, 0, 0], [batch, channels, length - shift]),
    ],
    2,
  );
}

/** y_j = x_{j+w}, zero for j >= L - w. */
function shiftedEarlier(x: tf.Tensor, shift: number): tf.Tensor {
  const [batch, channels, length] = x.shape as [number, number, number];
  return tf.concat(
    [
      tf.slice(x, [0, 0, shift], [batch, channels, length - shift]),
      tf.zeros([batch, channels, shift]),
    ],
    2,
  );
}

/**
 * Chunk length of the two-level scan. A float32 running sum over n terms carries an error that
 * grows with n; splitting the axis into chunks of C and scanning the chunk totals separately
 * bounds the terms any output accumulates to about C + L/C (recursively, C·log_C L).
 */
const CHUNK = 64;

/**
 * Inclusive prefix sum along the last axis, accurate for long axes. `reverse` gives the suffix
 * sum.
 */
function scanLastAxis(x: tf.Tensor, reverse: boolean): tf.Tensor {
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
