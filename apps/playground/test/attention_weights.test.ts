import { taylorPolynomial } from '@elementwise/math';
import { describe, expect, it } from 'vitest';
import { eaWeights, meanPeakWeight, softmaxWeights } from '../src/shared/attention_weights.js';

/** Deterministic pseudo-random values in [-scale, scale]. */
function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31 - 0.5) * 2 * scale;
  });
}

const length = 9;
const width = 8;
const input = {
  query: values(length * width, 1, 0.6),
  key: values(length * width, 2, 0.6),
  length,
  width,
};

function rowSums(weights: Float64Array): number[] {
  return Array.from({ length }, (_, i) =>
    weights.slice(i * length, (i + 1) * length).reduce((a, b) => a + b, 0),
  );
}

describe('attention weights for the heat maps', () => {
  it('are causal rows that sum to 1', () => {
    for (const weights of [
      eaWeights(input, { groupSize: 1, group: 3, order: 'exact' }),
      eaWeights(input, { groupSize: 4, group: 1, order: 6 }),
      softmaxWeights(input, { numHeads: 2, head: 1 }),
    ]) {
      for (const sum of rowSums(weights)) expect(sum).toBeCloseTo(1, 12);
      for (let i = 0; i < length; i++) {
        for (let j = i + 1; j < length; j++) expect(weights[i * length + j]).toBe(0);
      }
    }
  });

  it('match exp(-(q - k)^2) for exact per-channel EA', () => {
    const c = 5;
    const weights = eaWeights(input, { groupSize: 1, group: c, order: 'exact' });
    const i = 6;
    const raw = Array.from({ length: i + 1 }, (_, j) =>
      Math.exp(-((input.query[i * width + c] - input.key[j * width + c]) ** 2)),
    );
    const total = raw.reduce((a, b) => a + b, 0);
    for (let j = 0; j <= i; j++) expect(weights[i * length + j]).toBeCloseTo(raw[j] / total, 12);
  });

  it('approach exact EA as the Taylor order grows', () => {
    const exact = eaWeights(input, { groupSize: 2, group: 0, order: 'exact' });
    const error = (order: number) => {
      const series = eaWeights(input, { groupSize: 2, group: 0, order });
      return Math.max(...series.map((w, at) => Math.abs(w - exact[at])));
    };
    expect(error(6)).toBeLessThan(error(2));
    expect(error(10)).toBeLessThan(1e-6);
  });

  it('take softmax over one head', () => {
    const weights = softmaxWeights(input, { numHeads: 2, head: 0 });
    const i = 4;
    const logits = Array.from({ length: i + 1 }, (_, j) => {
      let dot = 0;
      for (let c = 0; c < 4; c++) dot += input.query[i * width + c] * input.key[j * width + c];
      return Math.exp(dot / 2);
    });
    const total = logits.reduce((a, b) => a + b, 0);
    for (let j = 0; j <= i; j++) expect(weights[i * length + j]).toBeCloseTo(logits[j] / total, 12);
  });

  it('refuse a group that does not divide the width', () => {
    expect(() => eaWeights(input, { groupSize: 3, group: 0, order: 2 })).toThrow(/does not divide/);
  });

  it('measure spikiness as the mean largest weight', () => {
    expect(taylorPolynomial(1, 8)).toBeCloseTo(Math.E, 4);
    const oneHot = new Float64Array(length * length);
    for (let i = 0; i < length; i++) oneHot[i * length] = 1;
    expect(meanPeakWeight(oneHot, length)).toBe(1);
  });
});
