import { matmul64 } from './helpers.js';

/**
 * Float64 references of the self-attention layers' block (projections, short convolutions,
 * output gate) and of the Transformer block around them, from a layer's own float32 weights.
 */

export interface Block {
  shortConv: number;
  outputGate: boolean;
  useBias: boolean;
  mask?: number[];
}

export interface Dims {
  batch: number;
  length: number;
  channels: number;
}

export const silu64 = (x: number) => x / (1 + Math.exp(-x));

/** A causal depthwise convolution with SiLU over positions of t [B, L, C], in float64. */
function convolution64(
  dims: Dims,
  t: Float64Array,
  w: Record<string, Float32Array>,
  name: string,
  size: number,
) {
  const { batch, length } = dims;
  const channels = t.length / (batch * length);
  const kernel = w[`${name}_conv/kernel`];
  const bias = w[`${name}_conv/bias`];
  const y = new Float64Array(t.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < length; i++)
      for (let c = 0; c < channels; c++) {
        let sum = bias[c];
        for (let tap = 0; tap < size; tap++) {
          const position = i - size + 1 + tap;
          if (position >= 0) {
            sum += kernel[tap * channels + c] * t[(b * length + position) * channels + c];
          }
        }
        y[(b * length + i) * channels + c] = silu64(sum);
      }
  return y;
}

/** The attention layer in float64: projections, convolutions, `attend`, gate, output projection. */
export function block64(
  dims: Dims,
  x: ArrayLike<number>,
  w: Record<string, Float32Array>,
  block: Block,
  widths: { key: number; value: number },
  attend: (q: Float64Array, k: Float64Array, v: Float64Array) => Float64Array,
): Float64Array {
  const { batch, length, channels } = dims;
  const rows = batch * length;
  const bias = (p: string) => (block.useBias ? w[`${p}/bias`] : null);
  const [q, k, v] = (['query', 'key', 'value'] as const).map((p) => {
    const width = p === 'value' ? widths.value : widths.key;
    const projected = matmul64(x, rows, channels, w[`${p}/kernel`], width, bias(p));
    return block.shortConv > 0 ? convolution64(dims, projected, w, p, block.shortConv) : projected;
  });
  let attended = attend(q, k, v);
  if (block.outputGate) {
    const gate = matmul64(x, rows, channels, w['gate/kernel'], widths.value, bias('gate'));
    attended = attended.map((a, i) => a * silu64(gate[i]));
  }
  return matmul64(attended, rows, widths.value, w['output/kernel'], channels, bias('output'));
}

/** RMSNorm over the last axis (width `channels`) with a gain, in float64. */
export function rms64(t: Float64Array, gain: Float32Array, channels: number): Float64Array {
  const out = new Float64Array(t.length);
  for (let r = 0; r < t.length / channels; r++) {
    let meanSquare = 0;
    for (let c = 0; c < channels; c++) meanSquare += t[r * channels + c] ** 2 / channels;
    for (let c = 0; c < channels; c++) {
      out[r * channels + c] = (t[r * channels + c] / Math.sqrt(meanSquare + 1e-5)) * gain[c];
    }
  }
  return out;
}

/** LayerNorm over the last axis with gain and bias, in float64. */
export function layerNorm64(
  t: ArrayLike<number>,
  gain: Float32Array,
  bias: Float32Array,
  channels: number,
): Float64Array {
  const out = new Float64Array(t.length);
  for (let r = 0; r < t.length / channels; r++) {
    let mean = 0;
    for (let c = 0; c < channels; c++) mean += t[r * channels + c] / channels;
    let variance = 0;
    for (let c = 0; c < channels; c++) variance += (t[r * channels + c] - mean) ** 2 / channels;
    for (let c = 0; c < channels; c++) {
      out[r * channels + c] =
        ((t[r * channels + c] - mean) / Math.sqrt(variance + 1e-5)) * gain[c] + bias[c];
    }
  }
  return out;
}

/** GELU, tanh approximation, in float64. */
export const gelu64 = (x: number) =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
