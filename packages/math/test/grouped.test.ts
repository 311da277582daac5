import { describe, expect, it } from 'vitest';
import {
  eaForward,
  groupedForward,
  groupedStep,
  groupFeatureCount,
  groupFeatures,
  maxAbsError,
  monomials,
  relativeRmsError,
  type State64,
  taylorPolynomial,
} from '../src/index.js';

/** Deterministic values in [-range, range]. */
function values(length: number, seed: number, range = 1): Float64Array {
  let state = seed * 2654435761;
  return Float64Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 2 * range;
  });
}

const dims = { batch: 2, queryLength: 5, keyLength: 5, channels: 6 };
const size = dims.batch * dims.keyLength * dims.channels;
const inputs = {
  q: values(size, 1, 0.8),
  k: values(size, 2, 0.8),
  v: values(size, 3),
  mask: Float64Array.from({ length: dims.batch * dims.keyLength }, (_, i) => (i === 3 ? 0 : 1)),
  dims,
};

describe('group features', () => {
  it('count C(d + t, t) monomials, each built once', () => {
    for (const [d, t] of [
      [1, 6],
      [2, 6],
      [4, 2],
      [8, 2],
      [3, 4],
    ]) {
      const features = groupFeatures(d, t);
      expect(features.size).toBe(groupFeatureCount(d, t));
      const x = values(d, 7 + d);
      const m = monomials(features, x);
      expect(new Set(Array.from(m).map((value) => value.toPrecision(12))).size).toBe(features.size);
    }
    expect(groupFeatureCount(8, 2)).toBe(45);
    expect(groupFeatureCount(4, 6)).toBe(210);
  });

  it('reproduce T_t(2 q·k) as Σ a_α q^α k^α', () => {
    for (const [d, t] of [
      [1, 6],
      [3, 4],
      [8, 2],
    ]) {
      const features = groupFeatures(d, t);
      const q = values(d, 11, 1.5);
      const k = values(d, 12, 1.5);
      const [mq, mk] = [monomials(features, q), monomials(features, k)];
      let series = 0;
      for (let f = 0; f < features.size; f++) series += features.coefficient[f] * mq[f] * mk[f];
      let qk = 0;
      for (let c = 0; c < d; c++) qk += q[c] * k[c];
      expect(series).toBeCloseTo(taylorPolynomial(2 * qk, t), 12);
    }
  });

  it('refuse a feature count beyond MAX_GROUP_FEATURES', () => {
    expect(() => groupFeatures(64, 6)).toThrow(/MAX_GROUP_FEATURES = 4096/);
    expect(() => groupFeatures(0, 2)).toThrow('groupSize must be an integer >= 1, got 0');
  });
});

describe('grouped EA reference', () => {
  it('is per-channel EA when groups have one channel', () => {
    for (const order of ['exact', 0, 2, 6] as const) {
      for (const causal of [false, true]) {
        const grouped = groupedForward(inputs, { order, groupSize: 1, causal });
        const channel = eaForward(inputs, { order, causal });
        expect(maxAbsError(grouped.y, channel.y)).toBeLessThan(1e-12);
      }
    }
  });

  it('converges to exact grouped EA as the order grows', () => {
    const exact = groupedForward(inputs, { order: 'exact', groupSize: 3, causal: true }).y;
    const errors = [2, 6, 12].map((order) =>
      relativeRmsError(exact, groupedForward(inputs, { order, groupSize: 3, causal: true }).y),
    );
    expect(errors[1]).toBeLessThan(errors[0]);
    expect(errors[2]).toBeLessThan(1e-6);
  });

  it('scores a group by its mean squared distance: exact weights are a softmax of -|q - k|²/d', () => {
    const one = { batch: 1, queryLength: 1, keyLength: 3, channels: 2 };
    const q = [0.5, -0.25];
    const k = [0, 0, 1, 1, -1, 0.5];
    const v = [1, 2, 3, 4, 5, 6];
    const w = [0, 1, 2].map((j) =>
      Math.exp(-((q[0] - k[2 * j]) ** 2 + (q[1] - k[2 * j + 1]) ** 2) / 2),
    );
    const total = w[0] + w[1] + w[2];
    const expected = [0, 1].map((c) => (w[0] * v[c] + w[1] * v[2 + c] + w[2] * v[4 + c]) / total);
    const y = groupedForward({ q, k, v, dims: one }, { order: 'exact', groupSize: 2 }).y;
    expect(maxAbsError(y, expected)).toBeLessThan(1e-15);
  });

  it('steps token by token to the causal parallel output and final state', () => {
    const order = 2;
    const groupSize = 3;
    const parallel = groupedForward(inputs, { order, groupSize, causal: true });
    const { batch, keyLength: L, channels: D } = dims;
    const F = groupFeatureCount(groupSize, order);
    let state: State64 = {
      s: new Float64Array(batch * F * D),
      z: new Float64Array((batch * F * D) / 3),
    };
    for (let i = 0; i < L; i++) {
      const row = (x: Float64Array) =>
        Float64Array.from({ length: batch * D }, (_, at) => {
          const b = Math.floor(at / D);
          return x[(b * L + i) * D + (at % D)];
        });
      const visible = Float64Array.from({ length: batch }, (_, b) => inputs.mask[b * L + i]);
      // A masked token leaves the state alone; the reference step has no mask, so skip it.
      const step = groupedStep(row(inputs.q), row(inputs.k), row(inputs.v), state, {
        order,
        groupSize,
        batch,
        channels: D,
      });
      for (let b = 0; b < batch; b++) {
        if (visible[b] === 0) continue;
        for (let c = 0; c < D; c++) {
          expect(step.y[b * D + c]).toBeCloseTo(parallel.y[(b * L + i) * D + c], 12);
        }
      }
      if (visible.every((m) => m === 1)) state = step.state;
      else {
        // Only batch element 0 has a masked key (at position 3): keep its state, take the other's.
        const keep = (old: Float64Array, next: Float64Array, per: number) =>
          Float64Array.from(old, (value, at) => (Math.floor(at / per) === 0 ? value : next[at]));
        state = {
          s: keep(state.s, step.state.s, F * D),
          z: keep(state.z, step.state.z, (F * D) / 3),
        };
      }
    }
    const final = parallel.finalState;
    expect(maxAbsError(state.s, final?.s ?? [])).toBeLessThan(1e-12);
    expect(maxAbsError(state.z, final?.z ?? [])).toBeLessThan(1e-12);
  });

  it('continues from an initial state exactly as one long sequence', () => {
    const order = 2;
    const groupSize = 2;
    const whole = groupedForward(inputs, { order, groupSize, causal: true });
    const split = 2;
    const { batch, keyLength: L, channels: D } = dims;
    const part = (x: Float64Array, from: number, to: number) =>
      Float64Array.from({ length: batch * (to - from) * D }, (_, at) => {
        const b = Math.floor(at / ((to - from) * D));
        const rest = at % ((to - from) * D);
        return x[(b * L + from) * D + rest];
      });
    const maskPart = (from: number, to: number) =>
      Float64Array.from({ length: batch * (to - from) }, (_, at) => {
        const b = Math.floor(at / (to - from));
        return inputs.mask[b * L + from + (at % (to - from))];
      });
    const chunk = (from: number, to: number, initialState?: { s: Float64Array; z: Float64Array }) =>
      groupedForward(
        {
          q: part(inputs.q, from, to),
          k: part(inputs.k, from, to),
          v: part(inputs.v, from, to),
          mask: maskPart(from, to),
          dims: { batch, queryLength: to - from, keyLength: to - from, channels: D },
        },
        { order, groupSize, causal: true, initialState },
      );
    const first = chunk(0, split);
    const second = chunk(split, L, first.finalState);
    expect(maxAbsError(second.y, part(whole.y, split, L))).toBeLessThan(1e-12);
    expect(maxAbsError(second.finalState?.s ?? [], whole.finalState?.s ?? [])).toBeLessThan(1e-12);
  });

  it('rejects a group size that does not divide D, and odd orders', () => {
    expect(() => groupedForward(inputs, { order: 2, groupSize: 4 })).toThrow(
      'groupSize must divide the channel count D = 6, got 4',
    );
    expect(() => groupedForward(inputs, { order: 3, groupSize: 2 })).toThrow(/even integer/);
  });
});
