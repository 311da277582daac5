/**
 * EA's series replaces e^{2 q k} (per channel, per query–key pair) by its Taylor polynomial of
 * degree t, accurate only while |2 q k| is small: for t = 6 the relative error is ≈ 0.3 % at
 * 2qk = 2 but ≈ 3 % at 2qk = 3, and at 2qk = −3 the polynomial is 7× e^{−3}. These statistics
 * tell how far trained models are from that range.
 */
export interface QkMagnitudeSummary {
  /** Query–key–channel triples measured (causal: keys j ≤ i only). */
  pairs: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Share of triples with |2qk| > 1, > 2 and > 3. */
  above1: number;
  above2: number;
  above3: number;
}

/** At most this many triples are kept; beyond it every k-th is taken, evenly across the batch. */
export const MAX_QK_SAMPLES = 16_000_000;

/**
 * |2 q_ic k_jc| for every query i, key j (j ≤ i when causal) and channel c of each batch
 * element. `q` is [B, Lq, D], `k` is [B, L, D], both row-major.
 */
export function pairwiseQkMagnitudes(
  q: Float32Array,
  k: Float32Array,
  shape: { batch: number; queries: number; keys: number; channels: number },
  causal: boolean,
): Float32Array {
  const { batch, queries, keys, channels } = shape;
  if (q.length !== batch * queries * channels || k.length !== batch * keys * channels) {
    throw new Error(
      `pairwiseQkMagnitudes: q has ${q.length} values and k ${k.length}, expected [${batch}, ${queries}, ${channels}] and [${batch}, ${keys}, ${channels}]`,
    );
  }
  if (causal && queries !== keys) {
    throw new Error(
      `pairwiseQkMagnitudes: causal attention needs as many queries as keys, got ${queries} and ${keys}`,
    );
  }
  const pairsPerBatch = causal ? (keys * (keys + 1)) / 2 : queries * keys;
  const total = batch * pairsPerBatch * channels;
  const stride = Math.max(1, Math.ceil(total / MAX_QK_SAMPLES));
  const out = new Float32Array(Math.ceil(total / stride));
  let index = 0;
  let kept = 0;
  for (let b = 0; b < batch; b += 1) {
    for (let i = 0; i < queries; i += 1) {
      const qRow = (b * queries + i) * channels;
      const lastKey = causal ? i : keys - 1;
      for (let j = 0; j <= lastKey; j += 1) {
        const kRow = (b * keys + j) * channels;
        for (let c = 0; c < channels; c += 1) {
          if (index % stride === 0) out[kept++] = Math.abs(2 * q[qRow + c] * k[kRow + c]);
          index += 1;
        }
      }
    }
  }
  return out.subarray(0, kept);
}

/** Nearest-rank percentiles and tail shares of |2qk| values (sorts `values` in place). */
export function summarizeQkMagnitudes(values: Float32Array): QkMagnitudeSummary {
  if (values.length === 0) throw new Error('summarizeQkMagnitudes: no values');
  values.sort();
  const n = values.length;
  const rank = (p: number) => values[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  const share = (threshold: number) => {
    // values are sorted: count those above the threshold by binary search.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] > threshold) hi = mid;
      else lo = mid + 1;
    }
    return (n - lo) / n;
  };
  return {
    pairs: n,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: values[n - 1],
    above1: share(1),
    above2: share(2),
    above3: share(3),
  };
}
