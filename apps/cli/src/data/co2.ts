import type { SeriesDataset } from '@elementwise/models';
import { columnIndex, numericCell } from './csv.js';
import { contiguousSplit, type SplitName, type SplitRanges } from './splits.js';
import { readVegaCsv } from './vega_datasets.js';

/**
 * Monthly mean atmospheric CO2 at Mauna Loa (ppm; Scripps/NOAA, `co2-concentration.csv` of
 * `vega-datasets`). The series starts in 1964-05: the earlier months have gaps, and a forecaster
 * reads evenly spaced steps.
 *
 * The target (channel 0) is the **monthly change** CO2(t) − CO2(t−1) in ppm, not the level: the
 * level rises through the whole record, so a chronological split puts every test month
 * (391–416 ppm) above every training month (317–378 ppm), and a model normalised on the training
 * months would be scored on extrapolation alone. The change is a stationary seasonal signal
 * (about −2 to +2 ppm per month, drifting up slowly with the growth rate). Channels 1–2 are the
 * month as sin/cos, so a six-month window can tell where in the seasonal cycle it is. The
 * "adjusted CO2" column is left out: its seasonal adjustment is fitted on the whole record,
 * future months included.
 */
export const CO2_FILE = 'co2-concentration.csv';
export const CO2_FIRST_MONTH = '1964-05-01';
export const CO2_INPUT_LENGTH = 6;
export const CO2_HORIZONS = [6, 12] as const;
export const CO2_SEASON = 12;
export const CO2_CHANNELS = ['CO2 change ppm/month', 'sin(month)', 'cos(month)'] as const;
/** Chronological split of the months: 70 % train, 15 % validation, 15 % test. */
export const CO2_TRAIN_FRACTION = 0.7;
export const CO2_VALIDATION_FRACTION = 0.15;

export interface Co2Series {
  /** First day of each month, `YYYY-MM-01` (from 1964-06: the first change needs 1964-05). */
  months: string[];
  /** CO2 level of each month in ppm. */
  levels: Float64Array;
  /** `[months, 3]` row-major: CO2 change from the month before, sin(2π(m-1)/12), cos(2π(m-1)/12). */
  values: Float32Array;
  /** Fractional year of each month, e.g. 1964.333 for May 1964. */
  times: Float32Array;
}

export function loadCo2Series(): Co2Series {
  const { table, path } = readVegaCsv(CO2_FILE);
  const dateColumn = columnIndex(table, 'Date', path);
  const co2Column = columnIndex(table, 'CO2', path);
  const start = table.rows.findIndex((row) => row[dateColumn] === CO2_FIRST_MONTH);
  if (start < 0) throw new Error(`${path}: no row for ${CO2_FIRST_MONTH}`);
  const rows = table.rows.slice(start);
  const channels = CO2_CHANNELS.length;
  const count = rows.length - 1;
  const values = new Float32Array(count * channels);
  const times = new Float32Array(count);
  const levels = new Float64Array(count);
  const months: string[] = [];
  let previousMonth = -1;
  let previousLevel = Number.NaN;
  rows.forEach((row, r) => {
    const [year, month] = row[dateColumn].split('-').map(Number);
    const index = year * 12 + month - 1;
    if (previousMonth >= 0 && index !== previousMonth + 1) {
      throw new Error(`${path}: ${row[dateColumn]} does not follow the previous month`);
    }
    previousMonth = index;
    const level = numericCell(row[co2Column], path, start + r, 'CO2');
    if (r > 0) {
      const i = r - 1;
      const angle = (2 * Math.PI * (month - 1)) / 12;
      values[i * channels] = level - previousLevel;
      values[i * channels + 1] = Math.sin(angle);
      values[i * channels + 2] = Math.cos(angle);
      times[i] = year + (month - 1) / 12;
      levels[i] = level;
      months.push(row[dateColumn]);
    }
    previousLevel = level;
  });
  return { months, levels, values, times };
}

export interface Co2Splits {
  train: SeriesDataset;
  validation: SeriesDataset;
  test: SeriesDataset;
  /** Month ranges `[start, end)` of each split in {@link loadCo2Series}'s series. */
  ranges: SplitRanges;
  series: Co2Series;
  /** Per-channel mean and standard deviation of the training months. */
  normalization: { mean: number[]; std: number[] };
}

/**
 * The CO2 series cut by time into three disjoint sub-series; each split's windows (6 months in,
 * the next `horizon` monthly changes out) lie entirely inside it.
 */
export function loadCo2(horizon: number): Co2Splits {
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new Error(`loadCo2: horizon must be a positive integer, got ${horizon}`);
  }
  const series = loadCo2Series();
  const channels = CO2_CHANNELS.length;
  const ranges = contiguousSplit(series.months.length, CO2_TRAIN_FRACTION, CO2_VALIDATION_FRACTION);
  const dataset = (split: SplitName): SeriesDataset => {
    const [start, end] = ranges[split];
    return {
      kind: 'series',
      values: series.values.slice(start * channels, end * channels),
      channels,
      times: series.times.slice(start, end),
      inputLength: CO2_INPUT_LENGTH,
      horizon,
    };
  };
  const [trainStart, trainEnd] = ranges.train;
  const count = trainEnd - trainStart;
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let t = trainStart; t < trainEnd; t += 1) {
    for (let c = 0; c < channels; c += 1) mean[c] += series.values[t * channels + c] / count;
  }
  for (let t = trainStart; t < trainEnd; t += 1) {
    for (let c = 0; c < channels; c += 1) {
      std[c] += (series.values[t * channels + c] - mean[c]) ** 2 / count;
    }
  }
  return {
    train: dataset('train'),
    validation: dataset('validation'),
    test: dataset('test'),
    ranges,
    series,
    normalization: { mean, std: std.map(Math.sqrt) },
  };
}
