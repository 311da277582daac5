import type { SequenceDataset } from '@elementwise/models';
import { columnIndex, numericCell } from './csv.js';
import { readVegaCsv } from './vega_datasets.js';

/**
 * "Rain tomorrow" in Seattle: from the 14 days of weather up to and including day d (daily
 * precipitation, maximum and minimum temperature, wind, and the season as sin/cos of the day of
 * year), classify whether any precipitation falls on day d + 1. Source: `seattle-weather.csv` of
 * `vega-datasets` (NOAA daily observations, 2012–2015).
 *
 * Why it is a fair test: the label is a measurement of a day the inputs never contain; the split
 * is chronological by the label's day, so no test label lies inside the training period; and two
 * simple baselines (majority class, and persistence: wet tomorrow iff wet today) show what the
 * task gives away for free.
 */
export const SEATTLE_RAIN_FILE = 'seattle-weather.csv';
export const SEATTLE_RAIN_WINDOW = 14;
export const SEATTLE_RAIN_CLASSES = ['dry', 'wet'] as const;
export const SEATTLE_RAIN_CHANNELS = [
  'log1p(precipitation mm)',
  'temp_max °C',
  'temp_min °C',
  'wind m/s',
  'sin(day of year)',
  'cos(day of year)',
] as const;
/** Label days (inclusive) of each split: train 2012–2014, validation 2015 H1, test 2015 H2. */
export const SEATTLE_RAIN_SPLIT = {
  train: ['2012-01-01', '2014-12-31'],
  validation: ['2015-01-01', '2015-06-30'],
  test: ['2015-07-01', '2015-12-31'],
} as const;

export interface SeattleRainSplits {
  train: SequenceDataset;
  validation: SequenceDataset;
  test: SequenceDataset;
  /** The raw daily table the windows come from. */
  days: { date: string[]; precipitation: Float64Array };
  /** Index (into `days`) of the label day of each window, per split. */
  labelDays: { train: number[]; validation: number[]; test: number[] };
  /** Per-channel mean and standard deviation of the training windows' days, used to standardise. */
  standardization: { mean: number[]; std: number[] };
}

function dayOfYearAngle(date: string): number {
  const [year, month, day] = date.split('-').map(Number);
  const start = Date.UTC(year, 0, 1);
  const days = (Date.UTC(year, month - 1, day) - start) / 86_400_000;
  const length = (Date.UTC(year + 1, 0, 1) - start) / 86_400_000;
  return (2 * Math.PI * days) / length;
}

export function loadSeattleRain(): SeattleRainSplits {
  const { table, path } = readVegaCsv(SEATTLE_RAIN_FILE);
  const column = (name: string) => columnIndex(table, name, path);
  const [dateColumn, precipitation, tempMax, tempMin, wind] = [
    'date',
    'precipitation',
    'temp_max',
    'temp_min',
    'wind',
  ].map(column);
  const dayCount = table.rows.length;
  const channels = SEATTLE_RAIN_CHANNELS.length;
  const features = new Float64Array(dayCount * channels);
  const date: string[] = [];
  const rain = new Float64Array(dayCount);
  table.rows.forEach((row, i) => {
    date.push(row[dateColumn]);
    if (i > 0 && row[dateColumn] <= date[i - 1]) {
      throw new Error(`${path}: row ${i + 1} (${row[dateColumn]}) is not after the previous day`);
    }
    rain[i] = numericCell(row[precipitation], path, i, 'precipitation');
    const angle = dayOfYearAngle(row[dateColumn]);
    features.set(
      [
        Math.log1p(rain[i]),
        numericCell(row[tempMax], path, i, 'temp_max'),
        numericCell(row[tempMin], path, i, 'temp_min'),
        numericCell(row[wind], path, i, 'wind'),
        Math.sin(angle),
        Math.cos(angle),
      ],
      i * channels,
    );
  });

  // Window ending on day d predicts day d + 1; the first window ends on day WINDOW - 1.
  const labelDays = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  for (let label = SEATTLE_RAIN_WINDOW; label < dayCount; label += 1) {
    for (const split of ['train', 'validation', 'test'] as const) {
      const [first, last] = SEATTLE_RAIN_SPLIT[split];
      if (date[label] >= first && date[label] <= last) labelDays[split].push(label);
    }
  }

  // Standardise with the statistics of the days the training windows read, and nothing later.
  const lastTrainInputDay = labelDays.train[labelDays.train.length - 1] - 1;
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let d = 0; d <= lastTrainInputDay; d += 1) {
    for (let c = 0; c < channels; c += 1) mean[c] += features[d * channels + c];
  }
  for (let c = 0; c < channels; c += 1) mean[c] /= lastTrainInputDay + 1;
  for (let d = 0; d <= lastTrainInputDay; d += 1) {
    for (let c = 0; c < channels; c += 1) std[c] += (features[d * channels + c] - mean[c]) ** 2;
  }
  for (let c = 0; c < channels; c += 1) std[c] = Math.sqrt(std[c] / (lastTrainInputDay + 1));

  const windows = (labels: number[]): SequenceDataset => {
    const inputs = new Float32Array(labels.length * SEATTLE_RAIN_WINDOW * channels);
    const classes = new Int32Array(labels.length);
    labels.forEach((labelDay, w) => {
      const firstDay = labelDay - SEATTLE_RAIN_WINDOW;
      for (let t = 0; t < SEATTLE_RAIN_WINDOW; t += 1) {
        for (let c = 0; c < channels; c += 1) {
          inputs[(w * SEATTLE_RAIN_WINDOW + t) * channels + c] =
            (features[(firstDay + t) * channels + c] - mean[c]) / std[c];
        }
      }
      classes[w] = rain[labelDay] > 0 ? 1 : 0;
    });
    return {
      kind: 'sequences',
      inputs,
      length: SEATTLE_RAIN_WINDOW,
      channels,
      labels: classes,
    };
  };
  return {
    train: windows(labelDays.train),
    validation: windows(labelDays.validation),
    test: windows(labelDays.test),
    days: { date, precipitation: rain },
    labelDays,
    standardization: { mean, std },
  };
}
