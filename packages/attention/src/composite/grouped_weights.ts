import * as tf from '@tensorflow/tfjs-core';
import type { AttentionOrder } from '../kernel_names.js';
import { MIN_NORMAL_FLOAT32 } from './safe_divide.js';

/**
 * The weights of grouped EA between q̂ = q/√d and k̂ = k/√d of one group ([B, G, Lq, d] and
 * [B, G, L, d]), in log space: `log w_ij = log T_t(2q̂_i·k̂_j) - |k̂_j|²` (series) or
 * `2q̂_i·k̂_j - |k̂_j|²` (exact), shifted per query so the largest visible weight is 1.
 */

/** `T_t(x) = Σ_{n<=t} x^n/n!` by Horner. */
function taylor(x: tf.Tensor, order: number): tf.Tensor {
  return horner(x, order, (sum, n) => tf.add(1, tf.mul(sum, tf.div(x, order + 1 - n))));
}

/**
 * `steps` Horner updates from ones, each term freed as soon as the next exists: on [B, G, Lq, L]
 * the terms of a degree-6 loop would otherwise be alive together until the caller's scope ends.
 */
function horner(
  like: tf.Tensor,
  steps: number,
  update: (sum: tf.Tensor, step: number) => tf.Tensor,
): tf.Tensor {
  let sum = tf.onesLike(like);
  for (let step = 1; step <= steps; step++) {
    const previous = sum;
    sum = tf.tidy(() => update(previous, step));
    previous.dispose();
  }
  return sum;
}

/**
 * log w_ij up to a per-query constant, [B, G, Lq, L]: `2q·k - |k|²` (exact; `-|q|²` cancels) or
 * `log T_t(2q·k) - |k|²` (series; an even-degree T_t is positive everywhere).
 */
export function logWeights(q: tf.Tensor4D, k: tf.Tensor4D, order: AttentionOrder): tf.Tensor {
  const squares = tf.expandDims(tf.sum(tf.square(k), -1), 2);
  const products = tf.mul(tf.matMul(q, k, false, true), 2);
  const similarity = order === 'exact' ? products : logTaylor(products, order);
  return tf.sub(similarity, squares);
}

/** `P_t(r) = Σ_m t!/(t-m)! r^m` by Horner: `T_t(x) = x^t / t! · P_t(1/x)`. */
function reciprocalTaylor(r: tf.Tensor, order: number): tf.Tensor {
  return horner(r, order, (p, m) => tf.add(1, tf.mul(tf.mul(r, m), p)));
}

/** `(log T_t)'(x) = T_{t-1}(x) / T_t(x)`, for |x| > 1 as `(t/x) P_{t-1}(1/x) / P_t(1/x)`. */
function logTaylorSlope(x: tf.Tensor, order: number): tf.Tensor {
  if (order === 0) return tf.zerosLike(x);
  return byForm(
    x,
    (big) => {
      const r = tf.reciprocal(big);
      return tf.div(
        tf.mul(tf.mul(r, order), reciprocalTaylor(r, order - 1)),
        reciprocalTaylor(r, order),
      );
    },
    (small) => tf.div(taylor(small, order - 1), taylor(small, order)),
  );
}

/**
 * `far(x)` where |x| > 1 and `near(x)` elsewhere, each form fed harmless inputs where the other
 * is used (so neither makes a NaN), and each in its own scope: on [B, G, Lq, L] the terms of the
 * two Horner loops would otherwise be alive together.
 */
function byForm(
  x: tf.Tensor,
  far: (big: tf.Tensor) => tf.Tensor,
  near: (small: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const large = tf.greater(tf.abs(x), 1);
  const farValue = tf.tidy(() => far(tf.where(large, x, tf.onesLike(x))));
  const nearValue = tf.tidy(() => near(tf.where(large, tf.zerosLike(x), x)));
  const value = tf.where(large, farValue, nearValue);
  tf.dispose([large, farValue, nearValue]);
  return value;
}

/**
 * log T_t(x), also where T_t(x) itself overflows float32 (x ≈ 2.5e7 at t = 6): for |x| > 1 as
 * `t·log|x| - log t! + log P_t(1/x)` (the per-channel kernels read large queries the same way);
 * P_t > 0 because T_t > 0 and t is even. Its gradient is `T_{t-1}(x) / T_t(x)` (T_t' = T_{t-1}),
 * for |x| > 1 `(t/x) P_{t-1}(1/x) / P_t(1/x)`: a custom gradient, so the tape keeps x alone
 * instead of every [B, G, Lq, L] term of both Horner loops.
 */
export function logTaylor(x: tf.Tensor, order: number): tf.Tensor {
  const forward = (input: tf.Tensor, save: tf.GradSaveFunc) => {
    let logFactorial = 0;
    for (let n = 2; n <= order; n++) logFactorial += Math.log(n);
    const value = byForm(
      input,
      (big) =>
        tf.add(
          tf.sub(tf.mul(tf.log(tf.abs(big)), order), logFactorial),
          tf.log(reciprocalTaylor(tf.reciprocal(big), order)),
        ),
      (small) => tf.log(taylor(small, order)),
    );
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => tf.mul(dy, logTaylorSlope(saved[0], order))),
    };
  };
  // customGrad types its function over a rest parameter of tensors and the save function.
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x);
}

/** 0 where a query sees the key, -1e30 where it does not: added to log-weights. */
function hiddenBias(seen: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sub(seen, 1), 1e30);
}

/** Normalised weights P [B, G, Lq, L] (rows of queries that see no key are 0). */
function normalisedWeights(
  q: tf.Tensor,
  k: tf.Tensor,
  seen: tf.Tensor,
  order: AttentionOrder,
): { P: tf.Tensor; x: tf.Tensor } {
  const x = tf.mul(tf.matMul(q, k, false, true), 2);
  // Each step in its own scope, so no more than a few [B, G, Lq, L] tensors live at once.
  const logW = tf.tidy(() => {
    const squares = tf.expandDims(tf.sum(tf.square(k), -1), 2);
    const similarity = order === 'exact' ? x : logTaylor(x, order);
    return tf.add(tf.sub(similarity, squares), hiddenBias(seen));
  });
  const W = tf.tidy(() => {
    // A row that sees no key keeps its -1e30 entries: exp gives 0 there.
    const shift = tf.where(tf.greater(tf.max(seen, -1, true), 0), tf.max(logW, -1, true), 0);
    return tf.exp(tf.sub(logW, shift));
  });
  logW.dispose();
  const P = tf.tidy(() => {
    const total = tf.sum(W, -1, true);
    return tf.div(W, tf.where(tf.less(total, MIN_NORMAL_FLOAT32), tf.onesLike(total), total));
  });
  W.dispose();
  return { P, x };
}

/**
 * Queries per block of {@link weightedMean}: its forward and backward hold [B, G, block, L]
 * weights at a time, not [B, G, Lq, L] (at L = 1024, batch 4 and 16 groups, 268 MB per tensor,
 * which took a training step past the 4 GiB wasm heap).
 */
export const QUERY_BLOCK = 128;

/** The mask [B, L] as [B, 1, 1, L] of 0/1: which keys any query may see. */
export function keyMask(mask: tf.Tensor2D): tf.Tensor4D {
  const [batch, keys] = mask.shape;
  return tf.reshape(tf.cast(tf.notEqual(mask, 0), 'float32'), [batch, 1, 1, keys]);
}

/**
 * Which keys queries [start, start + size) see, [B, 1, size, L] as 0/1: the key mask, and
 * j <= i when causal.
 */
export function visibleRows(
  keys: tf.Tensor,
  start: number,
  size: number,
  causal: boolean,
): tf.Tensor {
  const [batch, , , length] = keys.shape as [number, number, number, number];
  if (!causal) return tf.broadcastTo(keys, [batch, 1, size, length]);
  // Row i keeps the keys j <= start + i: `start` diagonals above the main one.
  const lower = tf.linalg.bandPart(tf.ones([size, length]), -1, start);
  return tf.mul(keys, tf.reshape(lower, [1, 1, size, length]));
}

/** Rows [start, start + size) of axis 2 of a rank-4 tensor. */
function rows(x: tf.Tensor, start: number, size: number): tf.Tensor {
  return tf.slice(x, [0, 0, start, 0], [-1, -1, size, -1]);
}

/** [start, size] of each block of {@link QUERY_BLOCK} queries. */
function queryBlocks(queries: number): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  for (let start = 0; start < queries; start += QUERY_BLOCK) {
    blocks.push([start, Math.min(QUERY_BLOCK, queries - start)]);
  }
  return blocks;
}

/** `total + part`, freeing both inputs (total may be null at the first part). */
function accumulate(total: tf.Tensor | null, part: tf.Tensor): tf.Tensor {
  if (total === null) return part;
  const sum = tf.add(total, part);
  tf.dispose([total, part]);
  return sum;
}

/**
 * y = P v for a call without a state, with its own gradient: the forward keeps q̂, k̂, v and
 * the key mask `keys` [B, 1, 1, L] (with `causal`, whatever each query sees), and the backward recomputes P instead of holding every [B, G, Lq, L]
 * intermediate on the tape (which took a 3-layer char LM past the 4 GiB wasm heap). Both run
 * over blocks of {@link QUERY_BLOCK} queries, whose rows of P do not depend on one another.
 * With g = ∂ℓ/∂y, ∂P = g vᵀ, ∂log w = P ⊙ (∂P - rowsum(∂P ⊙ P)), ∂x = ∂log w ⊙ (log T_t)'(x):
 *   ∂v = Pᵀ g,   ∂q̂ = 2 ∂x k̂,   ∂k̂ = 2 ∂xᵀ q̂ - 2 k̂ ⊙ colsum(∂log w).
 */
export function weightedMean(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  keys: tf.Tensor,
  causal: boolean,
  order: AttentionOrder,
): tf.Tensor {
  const blocks = queryBlocks(q.shape[2] as number);
  const forward = (
    qIn: tf.Tensor,
    kIn: tf.Tensor,
    vIn: tf.Tensor,
    keysIn: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => {
    const parts = blocks.map(([start, size]) =>
      tf.tidy(() => {
        const seen = visibleRows(keysIn, start, size, causal);
        const { P } = normalisedWeights(rows(qIn, start, size), kIn, seen, order);
        return tf.matMul(P, vIn);
      }),
    );
    const value = parts.length === 1 ? parts[0] : tf.concat(parts, 2);
    save([qIn, kIn, vIn, keysIn]);
    if (parts.length > 1) tf.dispose(parts);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, keysSaved] = saved;
        let dv: tf.Tensor | null = null;
        let dkProducts: tf.Tensor | null = null;
        let columns: tf.Tensor | null = null;
        const dqParts: tf.Tensor[] = [];
        for (const [start, size] of blocks) {
          const [dq, dvPart, dkPart, columnsPart] = tf.tidy(() => {
            const qBlock = rows(qs, start, size);
            const g = rows(dy, start, size);
            const seen = visibleRows(keysSaved, start, size, causal);
            const { P, x } = normalisedWeights(qBlock, ks, seen, order);
            const dP = tf.matMul(g, vs, false, true);
            const dLogW = tf.mul(P, tf.sub(dP, tf.sum(tf.mul(dP, P), -1, true)));
            const dx = order === 'exact' ? dLogW : tf.mul(dLogW, logTaylorSlope(x, order));
            return [
              tf.mul(tf.matMul(dx, ks), 2),
              tf.matMul(P, g, true, false),
              tf.mul(tf.matMul(dx, qBlock, true, false), 2),
              tf.sum(dLogW, 2),
            ];
          });
          dqParts.push(dq);
          dv = accumulate(dv, dvPart);
          dkProducts = accumulate(dkProducts, dkPart);
          columns = accumulate(columns, columnsPart);
        }
        const gradients = tf.tidy(() => {
          const dq = dqParts.length === 1 ? tf.clone(dqParts[0]) : tf.concat(dqParts, 2);
          const dk = tf.sub(
            dkProducts as tf.Tensor,
            tf.mul(ks, tf.mul(tf.expandDims(columns as tf.Tensor, -1), 2)),
          );
          return [dq, dk, dv as tf.Tensor, tf.zerosLike(keysSaved)];
        });
        tf.dispose([...dqParts, dkProducts as tf.Tensor, columns as tf.Tensor]);
        return gradients;
      },
    };
  };
  // customGrad types its function over a rest parameter of tensors and the save function.
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(q, k, v, keys);
}
