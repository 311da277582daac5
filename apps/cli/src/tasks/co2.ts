import type { ForecasterConfig } from '@elementwise/models';
import {
  type ForecastWindowsSource,
  naiveForecast,
  seasonalNaiveForecast,
} from '../baselines/forecast.js';
import { CO2_CHANNELS, CO2_INPUT_LENGTH, CO2_SEASON, loadCo2 } from '../data/co2.js';
import {
  type Baseline,
  type TaskDefinition,
  type TaskOptions,
  TRAINING_REGULARIZATION,
} from './task.js';

export const DEFAULT_CO2_HORIZON = 6;

function horizonOf(options: TaskOptions): number {
  return options.horizon ?? DEFAULT_CO2_HORIZON;
}

export const co2Task: TaskDefinition = {
  name: 'co2',
  modelTask: 'forecaster',
  description:
    'Mauna Loa monthly CO2 change (vega-datasets co2-concentration.csv, 1964-06 on): 6 months in, next --horizon monthly changes out; chronological 70/15/15 split; metrics: MAE, RMSE in ppm/month',
  metrics: [
    { key: 'mae', label: 'MAE ppm/month', better: 'lower' },
    { key: 'rmse', label: 'RMSE ppm/month', better: 'lower' },
  ],
  backbone: {
    dModel: 32,
    numHeads: 4,
    numLayers: 2,
    maxLength: CO2_INPUT_LENGTH,
    ffMultiplier: 2,
    dropout: 0.05,
  },
  training: {
    steps: 600,
    batchSize: 32,
    learningRate: 1e-3,
    warmupSteps: 50,
    minLearningRate: 1e-5,
    ...TRAINING_REGULARIZATION,
    evalEvery: 50,
    evalBatches: 4,
    earlyStoppingPatience: 6,
  },
  load: (options) => loadCo2(horizonOf(options)),
  modelConfig(backbone, _splits, options): ForecasterConfig {
    const { normalization } = loadCo2(horizonOf(options));
    return {
      ...backbone,
      task: 'forecaster',
      inputChannels: CO2_CHANNELS.length,
      horizon: horizonOf(options),
      normalization,
    };
  },
  optionsFromConfig: (config) => (config.task === 'forecaster' ? { horizon: config.horizon } : {}),
  accepts: (config) => config.task === 'forecaster' && config.inputChannels === CO2_CHANNELS.length,
  baselines(split, options): Baseline[] {
    const splits = loadCo2(horizonOf(options));
    const channels = CO2_CHANNELS.length;
    const target = Array.from(
      { length: splits.series.months.length },
      (_, t) => splits.series.values[t * channels],
    );
    const source: ForecastWindowsSource = {
      target,
      range: splits.ranges[split],
      inputLength: CO2_INPUT_LENGTH,
      horizon: horizonOf(options),
    };
    return [
      {
        name: 'seasonal naive',
        metrics: seasonalNaiveForecast(source, CO2_SEASON),
        note: 'change 12 months before each target (reads history older than the 6-month window)',
      },
      {
        name: 'naive',
        metrics: naiveForecast(source),
        note: 'last observed change repeated',
      },
    ];
  },
};
