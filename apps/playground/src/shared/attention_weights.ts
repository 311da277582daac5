import { taylorPolynomial } from '@elementwise/math';

/**
 * Causal attention weights w[i][j] (j <= i, each row summing to 1) from a layer's real queries
 * and keys [L, width] (row-major, batch of one), as the heat maps draw them. Float64 throughout.
 *
 * EA weighs key j for query i, per similarity group of d channels (d = 1: per channel, the
 * paper's EA), by exp(-|q̂_i - k̂_j|²) with q̂ = q/√d over the group's channels (the mean
 * squared distance, as `@elementwise/math` defines grouped EA). The EA series of order t
 * factorises that as e^{-|q̂|²} e^{-|k̂|²} e^{2 q̂·k̂} and replaces e^{2 q̂·k̂} by its Taylor
 * polynomial T_t; e^{-|q̂|²} cancels in the row's normalisation. Softmax weighs by
 * softmax_j(q_i·k_j / √d) over one head's d channels.
 */
export interface QueryKey {
  query: Float32Array;
  key: Float32Array;
  length: number;
  width: number;
}

export type EaOrder = number | 'exact';

/** Rows of `logits` (−Infinity for no weight) as causal probabilities, in place. */
function normaliseRows(logits: Float64Array, length: number): Float64Array {
  for (let i = 0; i < length; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j <= i; j++) max = Math.max(max, logits[i * length + j]);
    let sum = 0;
    for (let j = 0; j < length; j++) {
      const at = i * length + j;
      logits[at] = j <= i && max > Number.NEGATIVE_INFINITY ? Math.exp(logits[at] - max) : 0;
      sum += logits[at];
    }
    // A query whose every weight underflowed sees nothing, as the op then outputs 0.
    for (let j = 0; j <= i; j++)
      logits[i * length + j] = sum > 0 ? logits[i * length + j] / sum : 0;
  }
  return logits;
}

function channelRange(width: number, size: number, index: number): [number, number] {
  if (!Number.isInteger(size) || size < 1 || width % size !== 0) {
    throw new Error(`a group or head of ${size} channels does not divide the width ${width}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= width / size) {
    throw new Error(`group or head ${index} is outside 0 … ${width / size - 1}`);
  }
  return [index * size, (index + 1) * size];
}

/** EA weights of one similarity group (channels group·d … group·d + d − 1). */
export function eaWeights(
  input: QueryKey,
  options: { groupSize: number; group: number; order: EaOrder },
): Float64Array {
  const { query, key, length, width } = input;
  const [from, to] = channelRange(width, options.groupSize, options.group);
  const scale = 1 / Math.sqrt(options.groupSize);
  const logits = new Float64Array(length * length).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < length; i++) {
    for (let j = 0; j <= i; j++) {
      let distance = 0;
      let dot = 0;
      let keyNorm = 0;
      for (let c = from; c < to; c++) {
        const q = query[i * width + c] * scale;
        const k = key[j * width + c] * scale;
        distance += (q - k) ** 2;
        dot += q * k;
        keyNorm += k * k;
      }
      if (options.order === 'exact') logits[i * length + j] = -distance;
      else {
        const polynomial = taylorPolynomial(2 * dot, options.order);
        logits[i * length + j] =
          polynomial > 0 ? Math.log(polynomial) - keyNorm : Number.NEGATIVE_INFINITY;
      }
    }
  }
  return normaliseRows(logits, length);
}

/** Softmax weights of one head (channels head·d … head·d + d − 1, d = width / numHeads). */
export function softmaxWeights(
  input: QueryKey,
  options: { numHeads: number; head: number },
): Float64Array {
  const { query, key, length, width } = input;
  const size = width / options.numHeads;
  const [from, to] = channelRange(width, size, options.head);
  const scale = 1 / Math.sqrt(size);
  const logits = new Float64Array(length * length).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < length; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let c = from; c < to; c++) dot += query[i * width + c] * key[j * width + c];
      logits[i * length + j] = dot * scale;
    }
  }
  return normaliseRows(logits, length);
}

/**
 * How spiky the weights are: the mean over queries of the largest weight a query gives (1 when
 * every query looks at one key; 1/(i+1) for query i when it spreads evenly).
 */
export function meanPeakWeight(weights: Float64Array, length: number): number {
  let total = 0;
  for (let i = 0; i < length; i++) {
    let peak = 0;
    for (let j = 0; j <= i; j++) peak = Math.max(peak, weights[i * length + j]);
    total += peak;
  }
  return total / length;
}
