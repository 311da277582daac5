import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DIGITS_PATH, DIGITS_SPLIT, loadDigits } from '../src/data/digits.js';

describe('UCI digits', () => {
  const splits = loadDigits();
  const lines = gunzipSync(readFileSync(DEFAULT_DIGITS_PATH)).toString('utf8').trim().split('\n');

  it('reads 8 steps × 8 channels per image with fixed split sizes 1257/180/360', () => {
    const sizes = { train: 1257, validation: 180, test: 360 };
    for (const split of ['train', 'validation', 'test'] as const) {
      const dataset = splits[split];
      expect(dataset.kind).toBe('sequences');
      expect(dataset.length).toBe(8);
      expect(dataset.channels).toBe(8);
      expect(dataset.labels.length).toBe(sizes[split]);
      expect(dataset.inputs.length).toBe(sizes[split] * 64);
    }
    expect(DIGITS_SPLIT.test[1]).toBe(lines.length);
  });

  it('keeps the file order: the first image is the "0" whose first rows are 0,0,5,13,9,1,0,0 and 0,0,13,15,10,15,5,0', () => {
    expect(splits.train.labels[0]).toBe(0);
    expect(Array.from(splits.train.inputs.slice(0, 16), (v) => v * 16)).toEqual([
      0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0,
    ]);
    // The first test image is line 1438 of the file.
    const cells = lines[1437].split(',').map(Number);
    expect(splits.test.labels[0]).toBe(cells[64]);
    expect(Array.from(splits.test.inputs.slice(0, 64), (v) => v * 16)).toEqual(cells.slice(0, 64));
  });

  it('scales pixels to [0, 1] and uses the ten classes in every split', () => {
    for (const split of ['train', 'validation', 'test'] as const) {
      const { inputs, labels } = splits[split];
      expect(Math.min(...inputs)).toBe(0);
      expect(Math.max(...inputs)).toBe(1);
      expect(new Set(labels).size).toBe(10);
    }
  });

  it('names the install script when the file is missing', () => {
    expect(() => loadDigits('/nonexistent/digits.csv.gz')).toThrow(/install-datasets\.sh/);
  });
});
