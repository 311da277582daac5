import { taylorCoefficients } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardTensors } from '../contract_tensors.js';
import {
  featureExponent,
  oneScaleServesEveryPrefix,
  scaleAdjointUp,
  scaleDown,
  stateScale,
} from './feature_scale.js';
import { foldTerms } from './loop.js';
import { scaledTerm, scaledTermsOf, slopeFactor, useScaled } from './query_terms.js';
import { isZeroDenominator, safeDivide } from './safe_divide.js';
import { type CausalScan, causalScan } from './scan.js';

/**
 * EA-series of order t from plain tfjs ops, forward and analytic backward (DESIGN.md §2).
 *
 * Layout: everything is transposed once to [B, D, L] so that sequence sums and causal scans run
 * along the last axis (tfjs scans fastest there, and its Cumsum gradient is only right there).
 * Each term n works on [B, D, L] tensors and is disposed before the next: per-n loops on
 * [B, D, L] are far faster in tfjs than [B, D, L, t+1] tensors built with pow/stack.
 */

export interface SeriesGradients {
  dq: tf.Tensor3D;
  dk: tf.Tensor3D;
  dv: tf.Tensor3D;
  dInitialS: tf.Tensor3D;
  dInitialZ: tf.Tensor3D;
}

/** Channel-major views shared by forward and backward. */
interface ChannelMajor {
  /** [B, D, Lq] */
  q: tf.Tensor3D;
  /** [B, D, L] */
  k: tf.Tensor3D;
  /** [B, D, L] */
  v: tf.Tensor3D;
  /** f_0(k) = m e^{-k²} 2^E, [B, D, L] */
  f0: tf.Tensor3D;
  /** initial moments, [B, D, t+1], unscaled */
  s0: tf.Tensor3D;
  z0: tf.Tensor3D;
  /**
   * E of ./feature_scale.ts: every moment and feature here is 2^E times the true one. One per
   * channel, [B, D, 1], or when causal one per position, [B, D, L].
   */
  exponent: tf.Tensor3D;
  /** 2^E as the initial state is scaled, [B, D, 1 or L] */
  stateScale: tf.Tensor3D;
  /** The causal scans at these exponents; null when not causal. */
  scan: CausalScan | null;
}

function toChannelMajor(inputs: ForwardTensors, causal: boolean): ChannelMajor {
  const [batch, keys] = inputs.mask.shape;
  const visible = tf.notEqual(tf.reshape(inputs.mask, [batch, 1, keys]), 0);
  // Masked keys are absent whatever they hold: zeroed before f_n = f_{n-1} k can turn a NaN
  // or ±∞ there into NaN moments.
  const hide = (x: tf.Tensor3D) => {
    const cm = tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
    return tf.where(tf.broadcastTo(visible, cm.shape), cm, tf.zerosLike(cm)) as tf.Tensor3D;
  };
  const k = hide(inputs.k);
  const s0 = tf.transpose(inputs.initialS, [0, 2, 1]) as tf.Tensor3D;
  const z0 = tf.transpose(inputs.initialZ, [0, 2, 1]) as tf.Tensor3D;
  // Causal, one exponent per position only where one per channel would lose a prefix's keys.
  const perPosition = causal && !oneScaleServesEveryPrefix(inputs.k, inputs.mask);
  const exponent = featureExponent(k, visible, s0, z0, perPosition);
  const f0 = tf.exp(tf.sub(tf.mul(exponent, Math.LN2), tf.square(k)));
  return {
    q: tf.transpose(inputs.q, [0, 2, 1]),
    k,
    v: hide(inputs.v),
    f0: tf.where(tf.broadcastTo(visible, f0.shape), f0, tf.zerosLike(f0)) as tf.Tensor3D,
    s0,
    z0,
    exponent,
    stateScale: stateScale(exponent),
    scan: causal ? causalScan(exponent) : null,
  };
}

/** E where the sequence ends ([B, D, 1]): the scale of the final state. */
function lastExponent(cm: ChannelMajor): tf.Tensor3D {
  const [batch, channels, length] = cm.exponent.shape;
  return tf.slice(cm.exponent, [0, 0, length - 1], [batch, channels, 1]);
}

/** Term n of a [B, D, t+1] state as [B, D, 1]. */
function term(state: tf.Tensor3D, n: number): tf.Tensor3D {
  const [batch, channels] = state.shape;
  return tf.slice(state, [0, 0, n], [batch, channels, 1]);
}

/** Joins per-term [B, D, 1] pieces kept out of the loop's scopes, and releases them. */
function concatKept(pieces: tf.Tensor[]): tf.Tensor {
  const joined = tf.concat(pieces, 2);
  for (const piece of pieces) piece.dispose();
  return joined;
}

/** S_n(i): the sum of x over the keys query i sees, plus the initial moment (unscaled). */
function moment(x: tf.Tensor, initial: tf.Tensor, cm: ChannelMajor): tf.Tensor {
  const scaledInitial = tf.mul(initial, cm.stateScale);
  return tf.add(cm.scan ? cm.scan.forward(x) : tf.sum(x, 2, true), scaledInitial);
}

/** The moment the sequence ends with: the last prefix sum, or the full sum. */
function lastMoment(m: tf.Tensor, causal: boolean): tf.Tensor {
  if (!causal) return m;
  const [batch, channels, length] = m.shape;
  return tf.slice(m, [0, 0, length - 1], [batch, channels, 1]);
}

/**
 * N = Σ c_n S_n and M = Σ c_n Z_n ([B, D, Lq]), plus the final moments, with the query terms c
 * of ./query_terms.ts: plain, or divided by q^t where the plain N or M overflowed (`scaled`).
 */
function numeratorDenominator(
  cm: ChannelMajor,
  order: number,
  causal: boolean,
): { N: tf.Tensor; M: tf.Tensor; scaled: tf.Tensor; finalS: tf.Tensor; finalZ: tf.Tensor } {
  const a = taylorCoefficients(order);
  const finalS: tf.Tensor[] = [];
  const finalZ: tf.Tensor[] = [];
  const scaledTerms = scaledTermsOf(cm.q);
  const sums = foldTerms(
    order + 1,
    {
      N: tf.zerosLike(cm.q),
      M: tf.zerosLike(cm.q),
      scaledN: tf.zerosLike(cm.q),
      scaledM: tf.zerosLike(cm.q),
      c: tf.onesLike(cm.q),
      f: tf.clone(cm.f0),
    },
    ({ N, M, scaledN, scaledM, c, f }, n) => {
      const S = moment(tf.mul(f, cm.v), term(cm.s0, n), cm);
      const Z = moment(f, term(cm.z0, n), cm);
      finalS.push(tf.keep(lastMoment(S, causal)));
      finalZ.push(tf.keep(lastMoment(Z, causal)));
      // Non-causal moments are [B, D, 1]: the scaled sums come cheaper by Horner after the loop.
      const scaledC = causal ? scaledTerm(scaledTerms, a, n, order) : null;
      return {
        N: tf.add(N, tf.mul(c, S)),
        M: tf.add(M, tf.mul(c, Z)),
        scaledN: scaledC ? tf.add(scaledN, tf.mul(scaledC, S)) : scaledN,
        scaledM: scaledC ? tf.add(scaledM, tf.mul(scaledC, Z)) : scaledM,
        c: tf.mul(c, tf.mul(cm.q, 2 / (n + 1))),
        f: tf.mul(f, cm.k),
      };
    },
  );
  if (!causal) {
    // Σ a_n r^{t-n} S_n by Horner in r = 1/q over the kept per-term moments.
    const horner = (moments: tf.Tensor[]) =>
      tf.tidy(() => {
        const r = tf.reciprocal(cm.q);
        let sum: tf.Tensor = tf.mul(moments[0], a[0]);
        for (let n = 1; n <= order; n++) sum = tf.add(tf.mul(sum, r), tf.mul(moments[n], a[n]));
        return tf.add(sum, tf.zerosLike(cm.q));
      });
    tf.dispose([sums.scaledN, sums.scaledM]);
    sums.scaledN = horner(finalS);
    sums.scaledM = horner(finalZ);
  }
  const scaled = useScaled(sums.M, sums.scaledM, cm.q);
  const result = {
    N: tf.where(scaled, sums.scaledN, sums.N),
    M: tf.where(scaled, sums.scaledM, sums.M),
    scaled,
    finalS: scaleDown(concatKept(finalS), lastExponent(cm)),
    finalZ: scaleDown(concatKept(finalZ), lastExponent(cm)),
  };
  tf.dispose([
    sums.N,
    sums.M,
    sums.scaledN,
    sums.scaledM,
    sums.c,
    sums.f,
    ...Object.values(scaledTerms),
  ]);
  return result;
}

/** Forward: [y [B,Lq,D], finalS [B,t+1,D], finalZ [B,t+1,D]]. */
export function seriesForward(
  inputs: ForwardTensors,
  order: number,
  causal: boolean,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const cm = toChannelMajor(inputs, causal);
    const { N, M, finalS, finalZ } = numeratorDenominator(cm, order, causal);
    return [
      tf.transpose(safeDivide(N, M), [0, 2, 1]) as tf.Tensor3D,
      tf.transpose(finalS, [0, 2, 1]) as tf.Tensor3D,
      tf.transpose(finalZ, [0, 2, 1]) as tf.Tensor3D,
    ];
  });
}

/**
 * Analytic backward, O(t·L·D) time and O(L·D) scratch. With g = dL/dy, α = g/M, β = -g·y/M
 * (c_n = a_n q^n, or a_n q^{n-t} for the queries the forward read scaled):
 *   dq_i = Σ_n n a_n q_i^{n-1} (α_i S_n(i) + β_i Z_n(i))
 *   A_n(j) = Σ_{i sees j} α_i a_n q_i^n + dFinalS_n,   B_n(j) likewise with β and dFinalZ
 *   dv_j = Σ_n f_n(k_j) A_n(j),   dk_j = Σ_n f_n'(k_j) (v_j A_n(j) + B_n(j))
 *   dInitialS_n = A_n(first key),  dInitialZ_n = B_n(first key)
 * with f_n' = n f_{n-1} - 2 f_{n+1}. Queries whose M counts as zero get α = β = 0.
 * Features and moments carry the factor 2^E of ./feature_scale.ts and α, β the factor 2^-E, so
 * every product above is unscaled except the state adjoints, which are scaled back at the end.
 * Causal, E is per position: A_n(j) is summed at key j's scale (./scan.ts), and the final-state
 * adjoints, which every key reaches from the last position, come in with 2^{E_last - E_j}.
 */
export function seriesBackward(
  inputs: ForwardTensors,
  dy: tf.Tensor3D,
  dFinalS: tf.Tensor3D,
  dFinalZ: tf.Tensor3D,
  order: number,
  causal: boolean,
): SeriesGradients {
  return tf.tidy(() => {
    const cm = toChannelMajor(inputs, causal);
    const a = taylorCoefficients(order);
    const { N, M, scaled } = numeratorDenominator(cm, order, causal);
    const scaledTerms = scaledTermsOf(cm.q);
    const zero = isZeroDenominator(M);
    const safeM = tf.where(zero, tf.onesLike(M), M);
    const g = tf.where(zero, tf.zerosLike(M), tf.transpose(dy, [0, 2, 1]));
    const alpha = tf.div(g, safeM);
    const beta = tf.neg(tf.mul(alpha, tf.div(N, safeM)));
    const last = lastExponent(cm);
    const dS = scaleDown(tf.transpose(dFinalS, [0, 2, 1]), last) as tf.Tensor3D;
    const dZ = scaleDown(tf.transpose(dFinalZ, [0, 2, 1]), last) as tf.Tensor3D;
    // Sum over the queries that see key j: all of them, or (causal) those at i >= j.
    const adjoint = (x: tf.Tensor, upstream: tf.Tensor) =>
      cm.scan ? cm.scan.reverse(x, upstream) : tf.add(tf.sum(x, 2, true), upstream);
    // The state's adjoints are read where its scale is that of the first position.
    const firstKey = (x: tf.Tensor) => (causal ? term(x as tf.Tensor3D, 0) : x);
    const first = firstKey(cm.exponent);

    const dInitialS: tf.Tensor[] = [];
    const dInitialZ: tf.Tensor[] = [];
    const result = foldTerms(
      order + 1,
      {
        dq: tf.zerosLike(cm.q),
        dk: tf.zerosLike(cm.k),
        dv: tf.zerosLike(cm.k),
        plainBelow: tf.zerosLike(cm.q),
        plainC: tf.onesLike(cm.q),
        fBelow: tf.zerosLike(cm.k),
        f: tf.clone(cm.f0),
        fAbove: tf.mul(cm.f0, cm.k),
      },
      ({ dq, dk, dv, plainBelow, plainC, fBelow, f, fAbove }, n) => {
        const S = moment(tf.mul(f, cm.v), term(cm.s0, n), cm);
        const Z = moment(f, term(cm.z0, n), cm);
        // The query terms the forward read each query with; α, β carry the inverse factor.
        const c = tf.where(scaled, scaledTerm(scaledTerms, a, n, order), plainC);
        const A = adjoint(tf.mul(alpha, c), term(dS, n));
        const B = adjoint(tf.mul(beta, c), term(dZ, n));
        dInitialS.push(tf.keep(firstKey(A)));
        dInitialZ.push(tf.keep(firstKey(B)));
        const fPrime = tf.sub(tf.mul(fBelow, n), tf.mul(fAbove, 2));
        const slope = slopeFactor(scaled, plainBelow, c, cm.q, n, order);
        const dqTerm = tf.mul(slope, tf.add(tf.mul(alpha, S), tf.mul(beta, Z)));
        return {
          dq: tf.add(dq, dqTerm),
          dk: tf.add(dk, tf.mul(fPrime, tf.add(tf.mul(cm.v, A), B))),
          dv: tf.add(dv, tf.mul(f, A)),
          plainBelow: plainC,
          plainC: tf.mul(plainC, tf.mul(cm.q, 2 / (n + 1))),
          fBelow: f,
          f: fAbove,
          fAbove: tf.mul(fAbove, cm.k),
        };
      },
    );
    const toSequenceMajor = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
    return {
      dq: toSequenceMajor(result.dq),
      dk: toSequenceMajor(result.dk),
      dv: toSequenceMajor(result.dv),
      dInitialS: toSequenceMajor(scaleAdjointUp(concatKept(dInitialS), first)),
      dInitialZ: toSequenceMajor(scaleAdjointUp(concatKept(dInitialZ), first)),
    };
  });
}
