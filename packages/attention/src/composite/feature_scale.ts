import * as tf from '@tensorflow/tfjs-core';
import { hostView } from '../host_view.js';
import { shiftedLater } from './scan.js';

/**
 * Per-channel power-of-two scaling of the key features, so that far keys stay in float32 range.
 *
 * Every feature `f_n(k_j) = k_j^n e^{-k_j²}` of a channel, and its initial state, is multiplied
 * by the same `2^E`: the ratio y = N / M does not change, and neither do ∂q, ∂k, ∂v (the α = g/M
 * of the backward shrinks by exactly what the features grow). Without it, keys at |k| ≈ 9.4–13
 * leave M subnormal in float32: y is still finite, but α = g/M overflows and `0 · ∞` turns the
 * gradients NaN. E is the exponent of the largest visible `e^{-k²}`, so the nearest key's feature
 * is about 1 and keys up to about 87 (in k²) further out remain representable.
 */

/**
 * E never exceeds 1022 - 126: a denominator below the float64 zero threshold of the oracle
 * (2^-1022) then stays below the float32 one (2^-126) after scaling, so both rules agree.
 */
const MAX_EXPONENT = 1022 - 126;
/** A nonzero state is scaled by at most 2^126, and so that its largest entry stays below 2^125. */
const MAX_STATE_EXPONENT = 126;
const STATE_CEILING = 125;

/**
 * How much nearer (in octaves of e^{-k²}) a channel's nearest key may be than its first visible
 * one for a causal call to keep one exponent per channel. Every prefix's nearest key then has a
 * feature of at least 2^-64 at that scale: M stays far above float32's underflow, and keys
 * 2^-60 below it still add in full precision.
 */
const PREFIX_SPREAD_LOG2 = 64;
const PREFIX_SPREAD_SQUARE = PREFIX_SPREAD_LOG2 * Math.LN2;

/**
 * True when one exponent per channel serves every prefix of a causal call, known without
 * running an op: on the cpu and wasm backends, whose tensors live in host memory, one pass over
 * k shows that no channel's first visible finite key is more than {@link PREFIX_SPREAD_LOG2}
 * octaves further out than its nearest. The plain prefix sums then give what a per-position
 * scale would, faster (measured 12× on cpu and 1.5–2.3× on wasm, EA-6 at L = 1024–4096).
 * False means "not known" (a GPU backend) or not so. k: [B, L, D]; mask: [B, L].
 */
export function oneScaleServesEveryPrefix(k: tf.Tensor3D, mask: tf.Tensor2D): boolean {
  // A first pass moves any tensor that lives on another backend here; the views taken after it
  // then stay valid together.
  if (hostView(k) === null || hostView(mask) === null) return false;
  const [keys, visible] = [hostView(k), hostView(mask)] as ArrayLike<number>[];
  const [batch, length, channels] = k.shape;
  const first = new Float64Array(channels);
  const nearest = new Float64Array(channels);
  for (let b = 0; b < batch; b++) {
    first.fill(Number.NaN);
    nearest.fill(Number.POSITIVE_INFINITY);
    for (let j = 0; j < length; j++) {
      if (visible[b * length + j] === 0) continue;
      const row = (b * length + j) * channels;
      for (let d = 0; d < channels; d++) {
        const square = keys[row + d] * keys[row + d];
        if (!Number.isFinite(square)) continue;
        if (Number.isNaN(first[d])) first[d] = square;
        if (square < nearest[d]) nearest[d] = square;
      }
    }
    for (let d = 0; d < channels; d++)
      if (first[d] - nearest[d] > PREFIX_SPREAD_SQUARE) return false;
  }
  return true;
}

/**
 * E as a float tensor of integers >= 0. k: [B, D, L]; visible: bool [B, 1, L]; states
 * [B, D, t+1]. Either one exponent per channel, [B, D, 1], from every visible key, or
 * (`perPosition`, for causal calls) one per position, [B, D, L]: E_i is taken from the keys
 * j <= i only, so a later key never changes an earlier output (a near key at the end would
 * otherwise leave the far keys before it underflowed). E_i never rises along the sequence,
 * which ./scan.ts relies on.
 */
export function featureExponent(
  k: tf.Tensor3D,
  visible: tf.Tensor,
  s0: tf.Tensor3D,
  z0: tf.Tensor3D,
  perPosition: boolean,
): tf.Tensor3D {
  return tf.tidy(() => {
    const keys = keyExponents(k, visible);
    const largest = tf.maximum(tf.max(tf.abs(s0), 2, true), tf.max(tf.abs(z0), 2, true));
    let nearest = perPosition ? prefixMinimum(keys) : tf.min(keys, 2, true);
    if (perPosition) {
      // Before the first visible key a query sees only the state: it is scaled by the state's
      // bound (below), or, with a zero state (M = 0 there at any E), E takes the first key's
      // value, the largest of the rest, so that E never rises along the sequence.
      const first = tf.max(
        tf.where(tf.isFinite(nearest), nearest, Number.NEGATIVE_INFINITY),
        2,
        true,
      );
      const leading = tf.where(tf.equal(largest, 0), first, MAX_EXPONENT);
      nearest = tf.where(tf.isFinite(nearest), nearest, leading);
    }
    // No visible finite key at all: nothing to scale (non-finite keys yield NaN).
    const fromKeys = tf.where(tf.isFinite(nearest), nearest, 0);
    return tf.maximum(tf.minimum(fromKeys, stateBound(largest)), 0) as tf.Tensor3D;
  });
}

/**
 * floor(k² · log2 e) per visible key, so that e^{-k²} · 2^E <= 1 for every key with E at most
 * its own; +∞ for a hidden key or a non-finite one (which yields NaN moments anyway).
 */
function keyExponents(k: tf.Tensor3D, visible: tf.Tensor): tf.Tensor3D {
  const own = tf.minimum(tf.floor(tf.mul(tf.square(k), Math.LOG2E)), MAX_EXPONENT);
  const counted = tf.logicalAnd(tf.broadcastTo(visible, k.shape), tf.isFinite(own));
  return tf.where(counted, own, Number.POSITIVE_INFINITY) as tf.Tensor3D;
}

/** The running minimum along the last axis, by doubling: log2 L steps. */
function prefixMinimum(x: tf.Tensor3D): tf.Tensor3D {
  const length = x.shape[2];
  let result: tf.Tensor3D = x;
  for (let shift = 1; shift < length; shift *= 2) {
    result = tf.minimum(result, shiftedLater(result, shift, Number.POSITIVE_INFINITY));
  }
  return result;
}

/** The largest E, [B, D, 1], that keeps the initial state finite; `largest` is its max |entry|. */
function stateBound(largest: tf.Tensor): tf.Tensor {
  const headroom = tf.sub(STATE_CEILING, tf.ceil(tf.div(tf.log(largest), Math.LN2)));
  const bound = tf.where(
    tf.greater(largest, 0),
    tf.minimum(headroom, MAX_STATE_EXPONENT),
    tf.fill(largest.shape, MAX_EXPONENT),
  );
  // A non-finite state gives a NaN headroom: leave it unscaled, it propagates anyway.
  return tf.where(tf.isNaN(bound), tf.zerosLike(bound), bound);
}

/** The factor 2^E of the initial state, which may be nonzero only if E <= MAX_STATE_EXPONENT. */
export function stateScale(exponent: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(
    () => tf.exp(tf.mul(tf.minimum(exponent, MAX_STATE_EXPONENT), Math.LN2)) as tf.Tensor3D,
  );
}

/** x · 2^-E in two halves, so a large x with a large E is not lost to an early underflow. */
export function scaleDown(x: tf.Tensor, exponent: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const half = tf.floor(tf.mul(exponent, 0.5));
    const first = tf.exp(tf.mul(half, -Math.LN2));
    const second = tf.exp(tf.mul(tf.sub(exponent, half), -Math.LN2));
    return tf.mul(tf.mul(x, first), second);
  });
}

/**
 * x · 2^E for adjoints of the initial state, which may truly overflow (∂y/∂s0 = 1/M for a far
 * key): 0 stays 0 instead of `0 · ∞ = NaN`, anything else overflows to ±∞ as float32 must.
 */
export function scaleAdjointUp(x: tf.Tensor, exponent: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const half = tf.floor(tf.mul(exponent, 0.5));
    const first = tf.exp(tf.mul(half, Math.LN2));
    const second = tf.exp(tf.mul(tf.sub(exponent, half), Math.LN2));
    const scaled = tf.mul(tf.mul(x, first), second);
    return tf.where(tf.equal(x, 0), tf.zerosLike(x), scaled);
  });
}
