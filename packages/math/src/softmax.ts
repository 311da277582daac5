/**
 * Float64 softmax attention in plain JS, the truth `@elementwise/attention`'s
 * `softmaxAttention` is checked against by the tests and the benchmarks' gates. Flat row-major arrays, as `dataSync()` returns them. Causal
 * queries are aligned with the last Lq keys (query i sees keys j <= L − Lq + i); a query that
 * sees no visible key outputs 0. O(L·d) per query row.
 */
export interface SoftmaxDims {
  /** N: independent sequences (batch × heads). */
  count: number;
  queries: number;
  keys: number;
  depth: number;
  valueDepth: number;
}

/** Self-attention over B sequences of L positions, q, k and v all [B, L, D]. */
export function selfAttentionDims(batch: number, length: number, channels: number): SoftmaxDims {
  return { count: batch, queries: length, keys: length, depth: channels, valueDepth: channels };
}

/**
 * Outputs of the given query rows only, [N, rows.length, dv], for q [N, Lq, d], k [N, L, d],
 * v [N, L, dv] and a key mask [N, L] (nonzero = visible): cheap spot checks at any L.
 */
export function softmaxAttentionRows64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
  rows: readonly number[],
  mask?: ArrayLike<number>,
): Float64Array {
  const { count, queries, keys, depth, valueDepth } = dims;
  const y = new Float64Array(count * rows.length * valueDepth);
  const weights = new Float64Array(keys);
  const scale = 1 / Math.sqrt(depth);
  const visible = (n: number, j: number) => mask?.[n * keys + j] !== 0;
  for (let n = 0; n < count; n++) {
    rows.forEach((i, row) => {
      const last = causal ? keys - queries + i : keys - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        if (!visible(n, j)) continue;
        let dot = 0;
        for (let c = 0; c < depth; c++) {
          dot += q[(n * queries + i) * depth + c] * k[(n * keys + j) * depth + c];
        }
        weights[j] = dot * scale;
        max = Math.max(max, weights[j]);
      }
      if (max === -Infinity) return;
      let total = 0;
      for (let j = 0; j <= last; j++) {
        if (!visible(n, j)) continue;
        weights[j] = Math.exp(weights[j] - max);
        total += weights[j];
      }
      const out = (n * rows.length + row) * valueDepth;
      for (let j = 0; j <= last; j++) {
        if (!visible(n, j)) continue;
        const w = weights[j] / total;
        for (let c = 0; c < valueDepth; c++) y[out + c] += w * v[(n * keys + j) * valueDepth + c];
      }
    });
  }
  return y;
}

/** y [N, Lq, dv]: every query row of {@link softmaxAttentionRows64}. */
export function softmaxAttention64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
  mask?: ArrayLike<number>,
): Float64Array {
  const rows = Array.from({ length: dims.queries }, (_, i) => i);
  return softmaxAttentionRows64(q, k, v, dims, causal, rows, mask);
}

/** The loss the benchmark and the tests differentiate, Σ y ⊙ g, in float64. */
export function softmaxLoss64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
  mask?: ArrayLike<number>,
): number {
  const y = softmaxAttention64(q, k, v, dims, causal, mask);
  let loss = 0;
  for (let i = 0; i < y.length; i++) loss += y[i] * cotangent[i];
  return loss;
}
