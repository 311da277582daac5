import * as tf from '@tensorflow/tfjs-core';
import { runCustomKernel } from './dispatch.js';
import { hostView } from './host_view.js';

/**
 * Huge values v (near the float32 maximum, 3.4e38). `y = Σ w v / Σ w` is a weighted mean of v,
 * so it is finite, but the moments `S_n = Σ_j f_n(k_j) v_j` that kernels sum in float32 (the
 * composite, WebGL, WebGPU) overflow. y and the state s are linear in (v, initial s), so the op
 * divides v and the initial s of each batch element and channel by a power of two 2^E before
 * the kernel and multiplies y and the final s by 2^E after it. Every backend follows this one
 * rule; kernels then only ever see values whose channel sums stay below 2^64.
 *
 * E = 0 (nothing is scaled) while `Σ_j |v_j|` over the visible keys plus `Σ_n |s_n|` of the
 * initial state stays below 2^64: ordinary values never reach it. Only finite entries count, so
 * a NaN or ±∞ neither raises E nor is hidden: it passes through the scaling unchanged and
 * propagates as before (README "Non-finite inputs"), and the other outputs are what they would
 * be without it. A sum bounds every moment (`|S_n| <= max f_n · Σ|v|`), which a maximum would
 * not. Scaling by a power of two is exact, so where E > 0 the kernel's rounding is the same as
 * on the unscaled problem wherever that stays in range.
 */

const LIMIT_LOG2 = 64;
const LIMIT = 2 ** LIMIT_LOG2;
/** Magnitudes are summed in units of 2^64: a sum of L float32 values then cannot overflow. */
const UNIT = 2 ** -LIMIT_LOG2;

/** What E is computed from. v is [B, L, D] (or [B, D] for one step); s is [B, T, D]. */
export interface ScaledValues {
  v: tf.Tensor;
  /** [B, L] float 0/1, or null when every key is visible. */
  mask: tf.Tensor | null;
  s: tf.Tensor;
}

/** Σ|x[i]| for i in [from, to); NaN and ±∞ propagate. */
function absSum(x: ArrayLike<number>, from: number, to: number): number {
  // Eight accumulators break the dependency chain of one running sum (measured fastest in V8).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let i = from;
  for (; i + 7 < to; i += 8) {
    s0 += Math.abs(x[i]);
    s1 += Math.abs(x[i + 1]);
    s2 += Math.abs(x[i + 2]);
    s3 += Math.abs(x[i + 3]);
    s4 += Math.abs(x[i + 4]);
    s5 += Math.abs(x[i + 5]);
    s6 += Math.abs(x[i + 6]);
    s7 += Math.abs(x[i + 7]);
  }
  for (; i < to; i++) s0 += Math.abs(x[i]);
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

/** Σ|x| over the rows of `width` entries whose mask is nonzero (all rows when mask is null). */
function visibleAbsSum(
  x: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  width: number,
): number {
  if (mask === null) return absSum(x, 0, x.length);
  // Runs of visible rows are summed in one stretch: an unmasked call is a single pass.
  let total = 0;
  let row = 0;
  while (row < mask.length) {
    if (mask[row] === 0) {
      row++;
      continue;
    }
    const first = row;
    while (row < mask.length && mask[row] !== 0) row++;
    total += absSum(x, first * width, row * width);
  }
  return total;
}

/**
 * True when E = 0 for every batch element and channel is known without running an op: on the
 * cpu and wasm backends, whose tensors live in host memory, one pass over v (the cost of a
 * single elementwise op) shows that all visible |v| and |s| together stay below the limit. The
 * op then runs exactly as without this rule. False means "not known" (a GPU backend, a huge or
 * non-finite value): the caller computes E per channel with {@link runValueScaled}.
 */
export function valuesFitUnscaled({ v, mask, s }: ScaledValues): boolean {
  const tensors = mask === null ? [v, s] : [v, s, mask];
  // A first pass moves any tensor that lives on another backend here; the views taken after it
  // then stay valid together.
  if (tensors.some((x) => hostView(x) === null)) return false;
  const [values, state, visible] = tensors.map((x) => hostView(x) as ArrayLike<number>);
  const channels = v.shape[v.rank - 1] as number;
  const total =
    visibleAbsSum(values, visible ?? null, channels) + visibleAbsSum(state, null, channels);
  return total < LIMIT;
}

/** Σ over axis 1 of the finite |x|·2^-64 where `visible` [B, N] (if given) is nonzero. */
function finiteMagnitude(x: tf.Tensor, visible: tf.Tensor | null): tf.Tensor {
  const finite = tf.isFinite(x);
  const keep =
    visible === null ? finite : tf.logicalAnd(finite, tf.expandDims(tf.notEqual(visible, 0), 2));
  return tf.sum(tf.where(keep, tf.mul(tf.abs(x), UNIT), 0), 1, true);
}

/** 2^E and 2^-E, each [B, 1, D], computed from the values as described at the top. */
function valueScale({ v, mask, s }: ScaledValues): { up: tf.Tensor; down: tf.Tensor } {
  return tf.tidy(() => {
    const values = v.rank === 2 ? tf.expandDims(v, 1) : v;
    let total = finiteMagnitude(values, mask);
    if (s.size > 0) total = tf.add(total, finiteMagnitude(s, null));
    // total < L · 2^64 is finite. E = ceil(log2 total) brings the scaled sum to about 2^64; the
    // float32 logarithm may round E one up or down, which only moves that bound by a factor 2.
    const exponent = tf.where(
      tf.greaterEqual(total, 1),
      tf.ceil(tf.mul(tf.log(total), Math.LOG2E)),
      0,
    );
    // pow(2, n) is exact for integer n (exp(n·ln 2) is not), and pow(2, 0) = 1 keeps E = 0 exact.
    return { up: tf.pow(2, exponent), down: tf.pow(2, tf.neg(exponent)) };
  });
}

/**
 * 2^-E alone, [B, 1, D], for callers that differentiate through plain ops (the grouped
 * composite) and so need no {@link runValueScaled}; compute it off the gradient tape.
 */
export function valueScaleDown(values: ScaledValues): tf.Tensor {
  return tf.tidy(() => valueScale(values).down);
}

/** x times a [B, 1, D] factor; x is [B, N, D] or [B, D]. */
function scaleBy(x: tf.Tensor, factor: tf.Tensor): tf.Tensor {
  if (x.size === 0) return x;
  return tf.mul(x, x.rank === 2 ? tf.squeeze(factor, [1]) : factor);
}

export interface ValueScaledCall {
  /** Every input of the kernel, by contract name. */
  inputs: Record<string, tf.Tensor>;
  /** The names of v, of the initial s, and of the mask (null when the kernel has none). */
  names: { v: string; s: string; mask: string | null };
  /**
   * Inputs whose gradient is linear in (v, s), like y: q, k and the initial z. Those of v and s
   * do not depend on their scale, and the mask has none.
   */
  linearGradients: readonly string[];
  /** The kernel: [y, final s, final z] of the given inputs. */
  forward: (inputs: Record<string, tf.Tensor>) => tf.Tensor[];
  /** The kernel's gradients at the given inputs for cotangents [dy, dFinalS, dFinalZ]. */
  backward: (inputs: Record<string, tf.Tensor>, dys: tf.Tensor[]) => Record<string, tf.Tensor>;
}

/**
 * Runs the kernel on `v·2^-E` and `s·2^-E` and returns `[y·2^E, s'·2^E, z']`, recorded on the
 * gradient tape as one node by {@link runCustomKernel}: E is computed inside it, off the tape,
 * so no gradient is computed for it.
 *
 * The backward runs the kernel's backward on the same scaled inputs with the cotangents of y
 * and s' unscaled and that of z' times 2^-E: the gradients are linear in the cotangents, so
 * this equals the chain rule through the scaling divided by 2^E for q, k and z (multiplied back
 * at the end) and equals it exactly for v and s. The kernel's backward thus never sees a value
 * near the float32 maximum either; a gradient overflows only where its true value does.
 */
export function runValueScaled(call: ValueScaledCall): tf.Tensor[] {
  const { inputs, names, linearGradients, forward, backward } = call;
  const inputNames = Object.keys(inputs);
  return runCustomKernel(
    inputs,
    (save) => {
      const { up, down } = valueScale({
        v: inputs[names.v],
        mask: names.mask === null ? null : inputs[names.mask],
        s: inputs[names.s],
      });
      const scaled = {
        ...inputs,
        [names.v]: scaleBy(inputs[names.v], down),
        [names.s]: scaleBy(inputs[names.s], down),
      };
      const [y, s, z] = forward(scaled);
      save([...inputNames.map((name) => scaled[name]), up, down]);
      return [scaleBy(y, up), scaleBy(s, up), z];
    },
    (dys, saved) =>
      tf.tidy(() => {
        const scaled = Object.fromEntries(inputNames.map((name, i) => [name, saved[i]]));
        const [up, down] = saved.slice(inputNames.length);
        const [dy, ds, dz] = dys;
        const raw = backward(scaled, [dy, ds, scaleBy(dz, down)]);
        return Object.fromEntries(
          inputNames.map((name) => [
            name,
            linearGradients.includes(name) ? scaleBy(raw[name], up) : raw[name],
          ]),
        );
      }),
  );
}
