import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSeattleRain } from '../src/data/seattle_rain.js';
import { vegaDatasetPath } from '../src/data/vega_datasets.js';

describe('Seattle rain tomorrow', () => {
  const splits = loadSeattleRain();
  const rows = readFileSync(vegaDatasetPath('seattle-weather.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

  it('makes windows of 14 days × 6 channels, split by label day: 2012–14 / 2015 H1 / 2015 H2', () => {
    expect(rows.length).toBe(1461);
    const sizes = { train: 1096 - 14, validation: 181, test: 184 };
    for (const split of ['train', 'validation', 'test'] as const) {
      const dataset = splits[split];
      expect(dataset.length).toBe(14);
      expect(dataset.channels).toBe(6);
      expect(dataset.labels.length).toBe(sizes[split]);
      expect(dataset.inputs.length).toBe(sizes[split] * 14 * 6);
    }
    expect(splits.days.date[splits.labelDays.train[0]]).toBe('2012-01-15');
    expect(splits.days.date[splits.labelDays.test[0]]).toBe('2015-07-01');
    expect(splits.days.date.at(-1)).toBe('2015-12-31');
  });

  it('labels each window with the next day of the file: wet iff its precipitation > 0', () => {
    // 2012-01-15 had 5.3 mm: the first training window (2012-01-01..14) is "wet".
    expect(rows[14][0]).toBe('2012-01-15');
    expect(splits.train.labels[0]).toBe(Number(rows[14][1]) > 0 ? 1 : 0);
    expect(splits.train.labels[0]).toBe(1);
    // 2015-07-01 was dry.
    expect(splits.test.labels[0]).toBe(0);
    const testRows = rows.filter((row) => row[0] >= '2015-07-01');
    expect(Array.from(splits.test.labels)).toEqual(
      testRows.map((row) => (Number(row[1]) > 0 ? 1 : 0)),
    );
  });

  it('standardises the first window’s days with the training statistics', () => {
    const { mean, std } = splits.standardization;
    // Day 1 (2012-01-01): 0.0 mm, 12.8 °C, 5.0 °C, 4.7 m/s.
    const first = Array.from(splits.train.inputs.slice(0, 4), (v, c) => v * std[c] + mean[c]);
    expect(first[0]).toBeCloseTo(Math.log1p(0), 5);
    expect(first[1]).toBeCloseTo(12.8, 4);
    expect(first[2]).toBeCloseTo(5.0, 4);
    expect(first[3]).toBeCloseTo(4.7, 4);
    // The 14th step of the first test window is 2015-06-30: 0.0 mm, 30.6 °C.
    const lastStep = splits.test.inputs.slice(13 * 6, 13 * 6 + 2);
    expect(lastStep[1] * std[1] + mean[1]).toBeCloseTo(30.6, 4);
  });
});
