import { softmaxAttention64 } from '@elementwise/math';
import { matmul64 } from './helpers.js';

/**
 * Float64 multi-head softmax attention, the truth `multiHeadAttentionLayer` is checked against:
 * the heads of `softmaxAttention64` (@elementwise/math, which checks `softmaxAttention` itself)
 * between the layer's projections. Flat row-major arrays as `dataSync()` returns them.
 */

/** Multi-head self-attention in float64 from a layer's weights (by short name). */
export interface HeadsConfig {
  batch: number;
  length: number;
  channels: number;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  causal: boolean;
  useBias: boolean;
}

/**
 * y [B, L, D] of the multi-head layer: per head h, softmax((x Wq)_h (x Wk)_hᵀ/√keyDim)(x Wv)_h,
 * heads concatenated, then the output projection. `mask` [B, L].
 */
export function multiHeadAttention64(
  x: ArrayLike<number>,
  w: Record<string, ArrayLike<number>>,
  config: HeadsConfig,
  mask?: ArrayLike<number>,
): Float64Array {
  const { batch, length, channels, numHeads, keyDim, valueDim, useBias } = config;
  const rows = batch * length;
  const linear = (input: ArrayLike<number>, p: string, inputs: number, outputs: number) =>
    matmul64(input, rows, inputs, w[`${p}/kernel`], outputs, useBias ? w[`${p}/bias`] : null);
  const q = linear(x, 'query', channels, numHeads * keyDim);
  const k = linear(x, 'key', channels, numHeads * keyDim);
  const v = linear(x, 'value', channels, numHeads * valueDim);
  const merged = multiHeadCore64(q, k, v, config, mask);
  return linear(merged, 'output', numHeads * valueDim, channels);
}

/**
 * The heads between the projections: q, k [B, L, H·keyDim] and v [B, L, H·valueDim] to the
 * concatenated heads' outputs [B, L, H·valueDim]. `mask` [B, L].
 */
export function multiHeadCore64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  config: Omit<HeadsConfig, 'channels' | 'useBias'>,
  mask?: ArrayLike<number>,
): Float64Array {
  const { batch, length, numHeads, keyDim, valueDim, causal } = config;
  const rows = batch * length;
  // Element (b, h, i, c) of [B, L, H, d] (the layer's) and of [B·H, L, d] (heads as sequences).
  type Layout = (b: number, h: number, i: number, c: number, depth: number) => number;
  const byPosition: Layout = (b, h, i, c, depth) => ((b * length + i) * numHeads + h) * depth + c;
  const byHead: Layout = (b, h, i, c, depth) => ((b * numHeads + h) * length + i) * depth + c;
  const relayout = (t: ArrayLike<number>, depth: number, from: Layout, to: Layout) => {
    const out = new Float64Array(rows * numHeads * depth);
    for (let b = 0; b < batch; b++)
      for (let h = 0; h < numHeads; h++)
        for (let i = 0; i < length; i++)
          for (let c = 0; c < depth; c++) out[to(b, h, i, c, depth)] = t[from(b, h, i, c, depth)];
    return out;
  };
  const heads = (t: ArrayLike<number>, depth: number) => relayout(t, depth, byPosition, byHead);
  const headMask = mask
    ? Float64Array.from({ length: batch * numHeads * length }, (_, index) => {
        const b = Math.floor(index / (numHeads * length));
        return mask[b * length + (index % length)];
      })
    : undefined;
  const attended = softmaxAttention64(
    heads(q, keyDim),
    heads(k, keyDim),
    heads(v, valueDim),
    { count: batch * numHeads, queries: length, keys: length, depth: keyDim, valueDepth: valueDim },
    causal,
    headMask,
  );
  return relayout(attended, valueDim, byHead, byPosition);
}
