import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { guessAccuracy, majorityClassAccuracy } from '../src/baselines/classification.js';
import {
  characterCount,
  compressedSize,
  compressionBitsPerChar,
} from '../src/baselines/compression.js';
import { naiveForecast, seasonalNaiveForecast } from '../src/baselines/forecast.js';
import { ngramBitsPerChar } from '../src/baselines/ngram.js';

describe('compression baselines', () => {
  const text = 'Call me Ishmael. Some years ago—never mind how long precisely—'.repeat(40);

  it('runs the real gzip and xz binaries (their output decompresses to the input)', () => {
    const input = Buffer.from(text, 'utf8');
    const gz = execFileSync('gzip', ['-9', '-c', '-n'], { input });
    expect(gunzipSync(gz).toString('utf8')).toBe(text);
    expect(compressedSize('gzip -9', input)).toBe(gz.length);
    const xz = execFileSync('xz', ['-9', '-c'], { input });
    expect(execFileSync('xz', ['-d', '-c'], { input: xz }).toString('utf8')).toBe(text);
    expect(compressedSize('xz -9', input)).toBe(xz.length);
  });

  it('counts bits per character (code points, not UTF-8 bytes)', () => {
    expect(characterCount('a—b')).toBe(3);
    const result = compressionBitsPerChar('gzip -9', text, text);
    const alone = compressedSize('gzip -9', Buffer.from(text, 'utf8'));
    expect(result.alone).toBeCloseTo((8 * alone) / characterCount(text), 10);
    // Having read the same text before, the held-out copy costs far less.
    expect(result.afterTraining).toBeLessThan(result.alone / 4);
  });
});

describe('forecast baselines', () => {
  // A pure yearly cycle plus a trend of 1 per step.
  const target = Array.from({ length: 60 }, (_, t) => t + 10 * Math.sin((2 * Math.PI * t) / 12));

  it('seasonal naive misses by exactly one season of trend on every target', () => {
    const errors = seasonalNaiveForecast(
      { target, range: [24, 60], inputLength: 6, horizon: 6 },
      12,
    );
    // Windows start every 6 steps: 24, 30, ..., 48 (the last one ends at 60).
    expect(errors.windows).toBe(5);
    expect(errors.mae).toBeCloseTo(12, 10);
    expect(errors.rmse).toBeCloseTo(12, 10);
  });

  it('naive repeats the last observed value', () => {
    const line = Array.from({ length: 20 }, (_, t) => 2 * t);
    const errors = naiveForecast({ target: line, range: [0, 20], inputLength: 6, horizon: 2 });
    // Steps 1 and 2 ahead miss by 2 and 4; windows start at 0, 2, ..., 12.
    expect(errors.windows).toBe(7);
    expect(errors.mae).toBeCloseTo(3, 10);
    expect(errors.rmse).toBeCloseTo(Math.sqrt(10), 10);
    expect(() =>
      naiveForecast({ target: line, range: [0, 5], inputLength: 6, horizon: 2 }),
    ).toThrow(/shorter than one forecast window/);
  });
});

describe('classification baselines', () => {
  it('majority class and per-example guesses', () => {
    const train = Int32Array.from([1, 1, 0, 2, 1]);
    const test = Int32Array.from([1, 0, 1, 1]);
    expect(majorityClassAccuracy(train, test)).toEqual({ accuracy: 0.75, majorityClass: 1 });
    expect(guessAccuracy([1, 1, 1, 0], test)).toBe(0.5);
  });
});

describe('n-gram baseline', () => {
  it('matches hand-computed bits for a one-character context', () => {
    // Training "abab": after "a" always "b" (2 of 2), after "b" always "a" (1 of 1); alphabet
    // {a, b} + unknown = 3. Held-out "aba": P(b|a) = 2.1/2.3, P(a|b) = 1.1/1.3.
    const expected = -(Math.log2(2.1 / 2.3) + Math.log2(1.1 / 1.3)) / 2;
    expect(ngramBitsPerChar('abab', 'aba', 1)).toBeCloseTo(expected, 12);
    // No context: unigram counts a 2, b 2 of 4.
    expect(ngramBitsPerChar('abab', 'a', 0)).toBeCloseTo(-Math.log2(2.1 / 4.3), 12);
    expect(() => ngramBitsPerChar('ab', 'ab', -1)).toThrow(/contextLength must be an integer ≥ 0/);
  });
});
