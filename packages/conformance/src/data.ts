import { eaBackward, eaForward, type State } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import type { Case } from './cases.js';
import { randomMask, randomNormal } from './random.js';

/** Number of moments of a state: t + 1, or 0 for `'exact'` (which has no state). */
export const momentsOf = (order: number | 'exact') => (order === 'exact' ? 0 : order + 1);

/** A case's inputs as float32 arrays: what the tensors are made of and what the oracle reads. */
export interface CaseData {
  readonly case: Case;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly mask?: Float32Array;
  readonly state?: { s: Float32Array; z: Float32Array };
}

export function caseData(c: Case, seed = 1): CaseData {
  const { batch, queries, keys, channels } = c;
  const moments = momentsOf(c.order);
  return {
    case: c,
    q: randomNormal(batch * queries * channels, seed),
    k: randomNormal(batch * keys * channels, seed + 1),
    v: randomNormal(batch * keys * channels, seed + 2, 1),
    mask: c.masked ? randomMask(batch, keys, seed + 3) : undefined,
    state:
      c.withState && moments > 0
        ? randomState(batch, c.order as number, channels, seed + 4)
        : undefined,
  };
}

/**
 * A non-zero state `[B, t+1, D]` as a real prefix leaves it: the moments `s_n = Σ_j f_n(k_j) v_j`
 * and `z_n = Σ_j f_n(k_j)` of `keys` random tokens. Arbitrary random moments would not do: a
 * state must keep every denominator `Σ_n a_n q^n z_n` positive, as one built from keys does.
 */
export function randomState(
  batch: number,
  order: number,
  channels: number,
  seed: number,
  keys = 4,
): { s: Float32Array; z: Float32Array } {
  const moments = order + 1;
  const k = randomNormal(batch * keys * channels, seed, 0.5);
  const v = randomNormal(batch * keys * channels, seed + 1, 1);
  const s = new Float64Array(batch * moments * channels);
  const z = new Float64Array(batch * moments * channels);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < keys; j++) {
      for (let c = 0; c < channels; c++) {
        const key = k[(b * keys + j) * channels + c];
        const value = v[(b * keys + j) * channels + c];
        let feature = Math.exp(-key * key); // f_n(k) = k^n e^{-k²}
        for (let n = 0; n < moments; n++) {
          const at = (b * moments + n) * channels + c;
          s[at] += feature * value;
          z[at] += feature;
          feature *= key;
        }
      }
    }
  }
  return { s: Float32Array.from(s), z: Float32Array.from(z) };
}

export const dimsOf = (c: Case) => ({
  batch: c.batch,
  queryLength: c.queries,
  keyLength: c.keys,
  channels: c.channels,
});

export function oracleForward(d: CaseData) {
  const { order, causal } = d.case;
  return eaForward(
    { q: d.q, k: d.k, v: d.v, mask: d.mask, dims: dimsOf(d.case) },
    { order, causal, initialState: d.state, returnFinalState: order !== 'exact' },
  );
}

/**
 * The oracle's gradients of `Σ dy ⊙ y + Σ dFinal ⊙ finalState`. `initialState` defaults to the
 * case's state; pass a zero state to get its gradient for a case without one.
 */
export function oracleBackward(
  d: CaseData,
  dy: ArrayLike<number>,
  dFinalState?: State,
  initialState: State | undefined = d.state,
) {
  const { order, causal } = d.case;
  return eaBackward({ q: d.q, k: d.k, v: d.v, mask: d.mask, dims: dimsOf(d.case) }, dy, {
    order,
    causal,
    initialState,
    dFinalState,
  });
}

/** The case as tensors on the active backend. */
export interface CaseTensors {
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  mask?: tf.Tensor2D;
  state?: { s: tf.Tensor3D; z: tf.Tensor3D };
}

export function caseTensors(d: CaseData): CaseTensors {
  const { batch, queries, keys, channels, order } = d.case;
  const stateShape: [number, number, number] = [batch, momentsOf(order), channels];
  return {
    q: tf.tensor3d(d.q, [batch, queries, channels]),
    k: tf.tensor3d(d.k, [batch, keys, channels]),
    v: tf.tensor3d(d.v, [batch, keys, channels]),
    mask: d.mask ? tf.tensor2d(d.mask, [batch, keys]) : undefined,
    state: d.state
      ? { s: tf.tensor3d(d.state.s, stateShape), z: tf.tensor3d(d.state.z, stateShape) }
      : undefined,
  };
}

/**
 * A case's tensors as the forward kernel's six inputs, as the op passes them: a mask of ones and
 * a zero state where the case has none.
 */
export function forwardKernelInputs(c: Case, t: CaseTensors): Record<string, tf.Tensor> {
  const stateShape = [c.batch, momentsOf(c.order), c.channels];
  return {
    q: t.q,
    k: t.k,
    v: t.v,
    mask: t.mask ?? tf.ones([c.batch, c.keys]),
    initialS: t.state?.s ?? tf.zeros(stateShape),
    initialZ: t.state?.z ?? tf.zeros(stateShape),
  };
}

export function disposeTensors(t: CaseTensors): void {
  tf.dispose([t.q, t.k, t.v, t.mask, t.state?.s, t.state?.z].filter((x) => x != null));
}
