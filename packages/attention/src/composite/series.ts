import { taylorCoefficients } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { foldTerms } from './loop.js';
import { safeDivide } from './safe_divide.js';
import { scanLastAxis } from './scan.js';

/**
 * EA-series of order t from plain tfjs ops, forward and analytic backward (DESIGN.md §2).
 *
 * Layout: everything is transposed once to [B, D, L] so that sequence sums and causal scans run
 * along the last axis (tfjs scans fastest there, and its Cumsum gradient is only right there).
 * Each term n works on [B, D, L] tensors and is disposed before the next: per-n loops on
 * [B, D, L] are far faster in tfjs than [B, D, L, t+1] tensors built with pow/stack.
 */

export interface SeriesInputs {
  /** [B, Lq, D] */
  q: tf.Tensor3D;
  /** [B, L, D] */
  k: tf.Tensor3D;
  /** [B, L, D] */
  v: tf.Tensor3D;
  /** [B, L] of 0/1 */
  mask: tf.Tensor2D;
  /** [B, t+1, D] */
  initialS: tf.Tensor3D;
  /** [B, t+1, D] */
  initialZ: tf.Tensor3D;
}

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
  /** f_0(k) = m e^{-k²}, [B, D, L] */
  f0: tf.Tensor3D;
  /** initial moments, [B, D, t+1] */
  s0: tf.Tensor3D;
  z0: tf.Tensor3D;
}

function toChannelMajor(inputs: SeriesInputs): ChannelMajor {
  const [batch, keys] = inputs.mask.shape;
  const k = tf.transpose(inputs.k, [0, 2, 1]) as tf.Tensor3D;
  const visible = tf.reshape(inputs.mask, [batch, 1, keys]);
  return {
    q: tf.transpose(inputs.q, [0, 2, 1]),
    k,
    v: tf.transpose(inputs.v, [0, 2, 1]),
    f0: tf.mul(tf.exp(tf.neg(tf.square(k))), visible),
    s0: tf.transpose(inputs.initialS, [0, 2, 1]),
    z0: tf.transpose(inputs.initialZ, [0, 2, 1]),
  };
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

/** S_n(i): the sum of x over the keys query i sees, plus the initial moment. */
function moment(x: tf.Tensor, initial: tf.Tensor, causal: boolean): tf.Tensor {
  return tf.add(causal ? scanLastAxis(x) : tf.sum(x, 2, true), initial);
}

/** The moment the sequence ends with: the last prefix sum, or the full sum. */
function lastMoment(m: tf.Tensor, causal: boolean): tf.Tensor {
  if (!causal) return m;
  const [batch, channels, length] = m.shape;
  return tf.slice(m, [0, 0, length - 1], [batch, channels, 1]);
}

/** N = Σ a_n q^n S_n and M = Σ a_n q^n Z_n ([B, D, Lq]), plus the final moments. */
function numeratorDenominator(
  cm: ChannelMajor,
  order: number,
  causal: boolean,
): { N: tf.Tensor; M: tf.Tensor; finalS: tf.Tensor; finalZ: tf.Tensor } {
  const a = taylorCoefficients(order);
  const finalS: tf.Tensor[] = [];
  const finalZ: tf.Tensor[] = [];
  const { N, M } = foldTerms(
    order + 1,
    {
      N: tf.zerosLike(cm.q),
      M: tf.zerosLike(cm.q),
      qPower: tf.onesLike(cm.q),
      f: tf.clone(cm.f0),
    },
    ({ N, M, qPower, f }, n) => {
      const S = moment(tf.mul(f, cm.v), term(cm.s0, n), causal);
      const Z = moment(f, term(cm.z0, n), causal);
      finalS.push(tf.keep(lastMoment(S, causal)));
      finalZ.push(tf.keep(lastMoment(Z, causal)));
      const weight = tf.mul(qPower, a[n]);
      return {
        N: tf.add(N, tf.mul(weight, S)),
        M: tf.add(M, tf.mul(weight, Z)),
        qPower: tf.mul(qPower, cm.q),
        f: tf.mul(f, cm.k),
      };
    },
  );
  return { N, M, finalS: concatKept(finalS), finalZ: concatKept(finalZ) };
}

/** Forward: [y [B,Lq,D], finalS [B,t+1,D], finalZ [B,t+1,D]]. */
export function seriesForward(
  inputs: SeriesInputs,
  order: number,
  causal: boolean,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const cm = toChannelMajor(inputs);
    const { N, M, finalS, finalZ } = numeratorDenominator(cm, order, causal);
    return [
      tf.transpose(safeDivide(N, M), [0, 2, 1]) as tf.Tensor3D,
      tf.transpose(finalS, [0, 2, 1]) as tf.Tensor3D,
      tf.transpose(finalZ, [0, 2, 1]) as tf.Tensor3D,
    ];
  });
}

/**
 * Analytic backward, O(t·L·D) time and O(L·D) scratch. With g = dL/dy, α = g/M, β = -g·y/M:
 *   dq_i = Σ_n n a_n q_i^{n-1} (α_i S_n(i) + β_i Z_n(i))
 *   A_n(j) = Σ_{i sees j} α_i a_n q_i^n + dFinalS_n,   B_n(j) likewise with β and dFinalZ
 *   dv_j = Σ_n f_n(k_j) A_n(j),   dk_j = Σ_n f_n'(k_j) (v_j A_n(j) + B_n(j))
 *   dInitialS_n = A_n(first key),  dInitialZ_n = B_n(first key)
 * with f_n' = n f_{n-1} - 2 f_{n+1}. Queries with M = 0 get α = β = 0.
 */
export function seriesBackward(
  inputs: SeriesInputs,
  dy: tf.Tensor3D,
  dFinalS: tf.Tensor3D,
  dFinalZ: tf.Tensor3D,
  order: number,
  causal: boolean,
): SeriesGradients {
  return tf.tidy(() => {
    const cm = toChannelMajor(inputs);
    const a = taylorCoefficients(order);
    const { N, M } = numeratorDenominator(cm, order, causal);
    const visible = tf.notEqual(M, 0);
    const safeM = tf.where(visible, M, tf.onesLike(M));
    const g = tf.where(visible, tf.transpose(dy, [0, 2, 1]), tf.zerosLike(M));
    const alpha = tf.div(g, safeM);
    const beta = tf.neg(tf.mul(alpha, tf.div(N, safeM)));
    const dS = tf.transpose(dFinalS, [0, 2, 1]) as tf.Tensor3D;
    const dZ = tf.transpose(dFinalZ, [0, 2, 1]) as tf.Tensor3D;
    // Sum over the queries that see key j: all of them, or (causal) those at i >= j.
    const adjoint = (x: tf.Tensor, upstream: tf.Tensor) =>
      tf.add(causal ? scanLastAxis(x, true) : tf.sum(x, 2, true), upstream);
    const firstKey = (x: tf.Tensor) => (causal ? term(x as tf.Tensor3D, 0) : x);

    const dInitialS: tf.Tensor[] = [];
    const dInitialZ: tf.Tensor[] = [];
    const result = foldTerms(
      order + 1,
      {
        dq: tf.zerosLike(cm.q),
        dk: tf.zerosLike(cm.k),
        dv: tf.zerosLike(cm.k),
        qPowerBelow: tf.zerosLike(cm.q),
        qPower: tf.onesLike(cm.q),
        fBelow: tf.zerosLike(cm.k),
        f: tf.clone(cm.f0),
        fAbove: tf.mul(cm.f0, cm.k),
      },
      ({ dq, dk, dv, qPowerBelow, qPower, fBelow, f, fAbove }, n) => {
        const S = moment(tf.mul(f, cm.v), term(cm.s0, n), causal);
        const Z = moment(f, term(cm.z0, n), causal);
        const A = adjoint(tf.mul(alpha, tf.mul(qPower, a[n])), term(dS, n));
        const B = adjoint(tf.mul(beta, tf.mul(qPower, a[n])), term(dZ, n));
        dInitialS.push(tf.keep(firstKey(A)));
        dInitialZ.push(tf.keep(firstKey(B)));
        const fPrime = tf.sub(tf.mul(fBelow, n), tf.mul(fAbove, 2));
        const dqTerm = tf.mul(
          tf.mul(qPowerBelow, n * a[n]),
          tf.add(tf.mul(alpha, S), tf.mul(beta, Z)),
        );
        return {
          dq: tf.add(dq, dqTerm),
          dk: tf.add(dk, tf.mul(fPrime, tf.add(tf.mul(cm.v, A), B))),
          dv: tf.add(dv, tf.mul(f, A)),
          qPowerBelow: qPower,
          qPower: tf.mul(qPower, cm.q),
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
      dInitialS: toSequenceMajor(concatKept(dInitialS)),
      dInitialZ: toSequenceMajor(concatKept(dInitialZ)),
    };
  });
}
