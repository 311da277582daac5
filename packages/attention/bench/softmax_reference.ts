/**
 * Float64 softmax attention in plain JS, the truth the tfjs baseline is checked against. Flat
 * row-major [B, L, D] arrays, as `dataSync()` returns them. O(L·D) per query row.
 */
export interface SoftmaxDims {
  batch: number;
  length: number;
  channels: number;
}

/** Outputs of the given query rows only, [B, rows.length, D]: cheap spot checks at any L. */
export function softmaxAttentionRows64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
  rows: readonly number[],
): Float64Array {
  const { batch, length, channels } = dims;
  const y = new Float64Array(batch * rows.length * channels);
  const weights = new Float64Array(length);
  const scale = 1 / Math.sqrt(channels);
  for (let b = 0; b < batch; b++) {
    const base = b * length * channels;
    rows.forEach((i, row) => {
      const keys = causal ? i + 1 : length;
      let max = -Infinity;
      for (let j = 0; j < keys; j++) {
        let dot = 0;
        for (let c = 0; c < channels; c++)
          dot += q[base + i * channels + c] * k[base + j * channels + c];
        weights[j] = dot * scale;
        max = Math.max(max, weights[j]);
      }
      let total = 0;
      for (let j = 0; j < keys; j++) {
        weights[j] = Math.exp(weights[j] - max);
        total += weights[j];
      }
      const out = (b * rows.length + row) * channels;
      for (let j = 0; j < keys; j++) {
        const w = weights[j] / total;
        for (let c = 0; c < channels; c++) y[out + c] += w * v[base + j * channels + c];
      }
    });
  }
  return y;
}

export function softmaxAttention64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
): Float64Array {
  const rows = Array.from({ length: dims.length }, (_, i) => i);
  return softmaxAttentionRows64(q, k, v, dims, causal, rows);
}

/** The loss the benchmark differentiates, Σ y ⊙ g, in float64. */
export function softmaxLoss64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dims: SoftmaxDims,
  causal: boolean,
): number {
  const y = softmaxAttention64(q, k, v, dims, causal);
  let loss = 0;
  for (let i = 0; i < y.length; i++) loss += y[i] * cotangent[i];
  return loss;
}
