import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCo2, loadCo2Series } from '../src/data/co2.js';
import { vegaDatasetPath } from '../src/data/vega_datasets.js';

describe('Mauna Loa CO2', () => {
  const lines = readFileSync(vegaDatasetPath('co2-concentration.csv'), 'utf8').trim().split('\n');
  const fromMay1964 = lines.slice(lines.findIndex((line) => line.startsWith('1964-05-01')));

  it('reads the gap-free months from 1964-05 as monthly changes with the month as sin/cos', () => {
    const series = loadCo2Series();
    expect(series.months.length).toBe(fromMay1964.length - 1);
    expect(series.months[0]).toBe('1964-06-01');
    // 1964-05: 322.26 ppm, 1964-06: the next line of the file.
    const [may, june] = fromMay1964.slice(0, 2).map((line) => Number(line.split(',')[1]));
    expect(may).toBe(322.26);
    expect(series.values[0]).toBeCloseTo(june - may, 4);
    expect(series.levels[0]).toBe(june);
    expect(series.values[1]).toBeCloseTo(Math.sin((2 * Math.PI * 5) / 12), 6);
    expect(series.values[2]).toBeCloseTo(Math.cos((2 * Math.PI * 5) / 12), 6);
    const [before, last] = fromMay1964.slice(-2).map((line) => line.split(','));
    expect(series.months.at(-1)).toBe(last[0]);
    expect(series.values[(series.months.length - 1) * 3]).toBeCloseTo(
      Number(last[1]) - Number(before[1]),
      4,
    );
    expect(series.times[0]).toBeCloseTo(1964 + 5 / 12, 3);
  });

  it('splits by time 70/15/15 into disjoint sub-series with input 6 and the asked horizon', () => {
    const total = fromMay1964.length - 1;
    for (const horizon of [6, 12]) {
      const splits = loadCo2(horizon);
      const { train, validation, test } = splits;
      expect(train.kind).toBe('series');
      expect(train.inputLength).toBe(6);
      expect(test.horizon).toBe(horizon);
      expect(train.channels).toBe(3);
      const months = [train, validation, test].map((d) => d.values.length / 3);
      expect(months[0] + months[1] + months[2]).toBe(total);
      expect(months[0]).toBe(Math.round(total * 0.7));
      expect(test.times?.length).toBe(months[2]);
      // The test split starts where validation ends, at its own rows of the file.
      const [before, first] = fromMay1964
        .slice(splits.ranges.test[0], splits.ranges.test[0] + 2)
        .map((line) => Number(line.split(',')[1]));
      expect(test.values[0]).toBeCloseTo(first - before, 4);
    }
  });

  it('normalises with the training months only', () => {
    const splits = loadCo2(6);
    // Training changes run from 1964-06 to month train[1]; their mean telescopes to
    // (last level − 1964-05 level) / months.
    const trainLevels = fromMay1964
      .slice(0, splits.ranges.train[1] + 1)
      .map((l) => Number(l.split(',')[1]));
    const mean = (trainLevels[trainLevels.length - 1] - trainLevels[0]) / (trainLevels.length - 1);
    expect(splits.normalization.mean[0]).toBeCloseTo(mean, 4);
    expect(() => loadCo2(0)).toThrow(/horizon must be a positive integer/);
  });
});
