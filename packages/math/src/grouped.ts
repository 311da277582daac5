/**
 * Grouped element-wise attention, the float64 reference: channels form groups of d, and a group
 * weighs key j for query i by the mean squared distance of its channels,
 *
 *     y_ic = Σ_j w_ij v_jc / Σ_j w_ij,   w_ij = exp(-(1/d) Σ_{c' in group} (q_ic' - k_jc')²)
 *
 * for every channel c of the group. d = 1 is per-channel EA. The mean, not the sum, keeps the
 * exponent's spread over keys that of one channel whatever d (as softmax attention divides its
 * dot products by √d): summed over 16 channels of unit variance, the weights of a fresh model
 * would differ by factors of e^{±10} and pick one key at random, leaving nothing to learn from. Matching on d channels at once lets
 * a group pool evidence across them the way a dot product does, which one scalar per channel
 * cannot. With q̂ = q/√d and k̂ = k/√d, `w = e^{-|q̂|²} e^{-|k̂|²} e^{2q̂·k̂}`, and the series of
 * order t replaces `e^{2q̂·k̂}` by `T_t(2q̂·k̂)` (./group_features.ts): the key features
 * `f_α(k) = k̂^α e^{-|k̂|²}` and query coefficients `a_α q̂^α`, so causal grouped EA is
 * an RNN with state `s = Σ f(k) v` ([F, D], F = C(d + t, t)) and `z = Σ f(k)` ([F, D/d]).
 *
 * State layout: `s` is [B, F, D] and `z` is [B, F, G] with G = D/d groups; with d = 1 both are
 * [B, t+1, D], the per-channel layout.
 */
import { isZeroDenominator } from './denominator.js';
import { type GroupFeatures, groupFeatures, monomials } from './group_features.js';
import { taylorPolynomial } from './taylor.js';
import type { AttentionInputs, Order, State, State64 } from './types.js';
import { checkArray, checkDims, checkPositiveInteger } from './validate.js';

export interface GroupedOptions {
  readonly order: Order;
  /** d: channels per group; must divide D. */
  readonly groupSize: number;
  readonly causal?: boolean;
  /** Series orders only: s [B, F, D] and z [B, F, D/d] added before the first key. */
  readonly initialState?: State;
}

export interface GroupedResult {
  /** [B, Lq, D] */
  readonly y: Float64Array;
  /** The state after the last key (series orders). */
  readonly finalState?: State64;
}

/** Sizes of the grouped state: s [B, F, D], z [B, F, G]. */
export function groupedStateShape(
  order: number,
  groupSize: number,
  batch: number,
  channels: number,
): { s: [number, number, number]; z: [number, number, number] } {
  const size = groupFeatures(groupSize, order).size;
  return { s: [batch, size, channels], z: [batch, size, channels / groupSize] };
}

function checkGrouped(inputs: AttentionInputs, options: GroupedOptions): GroupFeatures | null {
  checkDims(inputs.dims);
  const { batch, queryLength, keyLength, channels } = inputs.dims;
  checkPositiveInteger('groupSize', options.groupSize);
  if (channels % options.groupSize !== 0) {
    throw new RangeError(
      `groupSize must divide the channel count D = ${channels}, got ${options.groupSize}`,
    );
  }
  checkArray('q', inputs.q, batch * queryLength * channels, 'B*Lq*D');
  checkArray('k', inputs.k, batch * keyLength * channels, 'B*L*D');
  checkArray('v', inputs.v, batch * keyLength * channels, 'B*L*D');
  if (inputs.mask) checkArray('mask', inputs.mask, batch * keyLength, 'B*L');
  if (options.causal && queryLength !== keyLength) {
    throw new RangeError(
      `causal attention needs queryLength == keyLength, got ${queryLength} and ${keyLength}`,
    );
  }
  if (options.order === 'exact') {
    if (options.initialState) throw new RangeError("order 'exact' has no state");
    return null;
  }
  if (!Number.isInteger(options.order) || options.order < 0 || options.order % 2 !== 0) {
    throw new RangeError(`order must be an even integer >= 0 or 'exact', got ${options.order}`);
  }
  const features = groupFeatures(options.groupSize, options.order);
  if (options.initialState) {
    const groups = channels / options.groupSize;
    checkArray('initialState.s', options.initialState.s, batch * features.size * channels, 'B*F*D');
    checkArray('initialState.z', options.initialState.z, batch * features.size * groups, 'B*F*G');
  }
  return features;
}

/**
 * The group's d values of row `row` of a [rows, D] slab divided by √d, as a fresh array: the
 * summed squared distance of the scaled values is the mean over the group.
 */
function groupRow(x: ArrayLike<number>, row: number, channels: number, start: number, d: number) {
  const out = new Float64Array(d);
  const scale = 1 / Math.sqrt(d);
  for (let c = 0; c < d; c++) out[c] = x[row * channels + start + c] * scale;
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/**
 * Forward pass of grouped EA (exact or series), causal or not, with mask and state. Weights are
 * shifted per query so the largest visible one is 1 (series: unless an initial state is given),
 * so they cannot underflow however far q and k are from 0; a query whose denominator is zero
 * outputs 0 (./denominator.ts).
 */
export function groupedForward(inputs: AttentionInputs, options: GroupedOptions): GroupedResult {
  const features = checkGrouped(inputs, options);
  const { batch, queryLength, keyLength, channels } = inputs.dims;
  const d = options.groupSize;
  const groups = channels / d;
  const causal = options.causal ?? false;
  const y = new Float64Array(batch * queryLength * channels);
  const F = features?.size ?? 0;
  const finalS = new Float64Array(batch * F * channels);
  const finalZ = new Float64Array(batch * F * groups);
  for (let b = 0; b < batch; b++) {
    const q = (i: number, g: number) => groupRow(inputs.q, b * queryLength + i, channels, g * d, d);
    const k = (j: number, g: number) => groupRow(inputs.k, b * keyLength + j, channels, g * d, d);
    const visible = (j: number) => inputs.mask?.[b * keyLength + j] !== 0;
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < queryLength; i++) {
        const last = causal ? i : keyLength - 1;
        const qi = q(i, g);
        const w = new Float64Array(keyLength);
        if (features === null) {
          let nearest = Number.POSITIVE_INFINITY;
          const distance = new Float64Array(keyLength);
          for (let j = 0; j <= last; j++) {
            if (!visible(j)) continue;
            const kj = k(j, g);
            let sum = 0;
            for (let c = 0; c < d; c++) sum += (qi[c] - kj[c]) ** 2;
            distance[j] = sum;
            nearest = Math.min(nearest, sum);
          }
          for (let j = 0; j <= last; j++) {
            if (visible(j)) w[j] = Math.exp(-(distance[j] - nearest));
          }
        } else {
          // log w_j = log T_t(2q·k) - |k|². Without an initial state the weights are shifted
          // like exact ones (largest visible weight 1), so keys far from 0 do not underflow; a
          // state's moments hold the unshifted e^{-|k|²}, so with one they stay unshifted.
          const logW = new Float64Array(keyLength).fill(Number.NEGATIVE_INFINITY);
          let largest = Number.NEGATIVE_INFINITY;
          for (let j = 0; j <= last; j++) {
            if (!visible(j)) continue;
            const kj = k(j, g);
            logW[j] = Math.log(taylorPolynomial(2 * dot(qi, kj), features.order)) - dot(kj, kj);
            largest = Math.max(largest, logW[j]);
          }
          const shift = options.initialState || !Number.isFinite(largest) ? 0 : largest;
          for (let j = 0; j <= last; j++) if (visible(j)) w[j] = Math.exp(logW[j] - shift);
        }
        // The initial state enters as Σ_α a_α q^α s0_α (and z0).
        const coefficients = features ? monomials(features, qi) : null;
        if (features && coefficients) {
          for (let f = 0; f < F; f++) coefficients[f] *= features.coefficient[f];
        }
        let total = 0;
        for (let j = 0; j <= last; j++) total += w[j];
        const s0 = options.initialState?.s;
        const z0 = options.initialState?.z;
        if (coefficients && z0) {
          for (let f = 0; f < F; f++) total += coefficients[f] * z0[(b * F + f) * groups + g];
        }
        for (let c = 0; c < d; c++) {
          const channel = g * d + c;
          let numerator = 0;
          for (let j = 0; j <= last; j++) {
            numerator += w[j] * inputs.v[(b * keyLength + j) * channels + channel];
          }
          if (coefficients && s0) {
            for (let f = 0; f < F; f++) {
              numerator += coefficients[f] * s0[(b * F + f) * channels + channel];
            }
          }
          y[(b * queryLength + i) * channels + channel] = isZeroDenominator(total)
            ? 0
            : numerator / total;
        }
      }
      if (!features) continue;
      // Final state: s0 + Σ_j f(k_j) v_j, z0 + Σ_j f(k_j) over the visible keys.
      for (let f = 0; f < F; f++) {
        finalZ[(b * F + f) * groups + g] = options.initialState?.z[(b * F + f) * groups + g] ?? 0;
        for (let c = 0; c < d; c++) {
          const at = (b * F + f) * channels + g * d + c;
          finalS[at] = options.initialState?.s[at] ?? 0;
        }
      }
      for (let j = 0; j < keyLength; j++) {
        if (!visible(j)) continue;
        const kj = k(j, g);
        const fk = monomials(features, kj);
        const decay = Math.exp(-dot(kj, kj));
        for (let f = 0; f < F; f++) {
          const feature = fk[f] * decay;
          finalZ[(b * F + f) * groups + g] += feature;
          for (let c = 0; c < d; c++) {
            const channel = g * d + c;
            finalS[(b * F + f) * channels + channel] +=
              feature * inputs.v[(b * keyLength + j) * channels + channel];
          }
        }
      }
    }
  }
  return features ? { y, finalState: { s: finalS, z: finalZ } } : { y };
}

/**
 * One token of causal grouped EA as an RNN: `s += f(k) v`, `z += f(k)`, then y is read from the
 * new state. It is causal attention over a single key with the state as initial state.
 */
export function groupedStep(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  state: State,
  options: { order: number; groupSize: number; batch: number; channels: number },
): { y: Float64Array; state: State64 } {
  const { batch, channels } = options;
  const result = groupedForward(
    { q, k, v, dims: { batch, queryLength: 1, keyLength: 1, channels } },
    { order: options.order, groupSize: options.groupSize, causal: true, initialState: state },
  );
  return { y: result.y, state: result.finalState as State64 };
}
