import type { SequenceClassifierConfig } from '@elementwise/models';
import { guessAccuracy, majorityClassAccuracy } from '../baselines/classification.js';
import {
  loadSeattleRain,
  SEATTLE_RAIN_CHANNELS,
  SEATTLE_RAIN_CLASSES,
  SEATTLE_RAIN_WINDOW,
} from '../data/seattle_rain.js';
import type { Baseline, TaskDefinition } from './task.js';

export const seattleRainTask: TaskDefinition = {
  name: 'seattle-rain',
  modelTask: 'sequence-classifier',
  description:
    'Seattle "rain tomorrow" (vega-datasets seattle-weather.csv): 14 days × 6 weather channels → is the next day wet; split by date 2012–14 / 2015 H1 / 2015 H2; metric: accuracy',
  metrics: [
    { key: 'accuracy', label: 'accuracy', better: 'higher' },
    { key: 'loss', label: 'loss (nats)', better: 'lower' },
  ],
  backbone: {
    dModel: 32,
    numHeads: 4,
    numLayers: 2,
    maxLength: SEATTLE_RAIN_WINDOW,
    ffMultiplier: 2,
    dropout: 0.1,
  },
  training: {
    steps: 400,
    batchSize: 64,
    learningRate: 1e-3,
    warmupSteps: 30,
    minLearningRate: 1e-5,
    weightDecay: 0.01,
    clipNorm: 1,
    evalEvery: 25,
    evalBatches: 3,
    earlyStoppingPatience: 6,
  },
  load: () => loadSeattleRain(),
  modelConfig(backbone): SequenceClassifierConfig {
    return {
      ...backbone,
      task: 'sequence-classifier',
      inputChannels: SEATTLE_RAIN_CHANNELS.length,
      numClasses: SEATTLE_RAIN_CLASSES.length,
      classNames: [...SEATTLE_RAIN_CLASSES],
    };
  },
  optionsFromConfig: () => ({}),
  accepts: (config) =>
    config.task === 'sequence-classifier' &&
    config.inputChannels === SEATTLE_RAIN_CHANNELS.length &&
    config.numClasses === SEATTLE_RAIN_CLASSES.length,
  baselines(split): Baseline[] {
    const splits = loadSeattleRain();
    const labels = splits[split].labels;
    const majority = majorityClassAccuracy(splits.train.labels, labels);
    const persistence = splits.labelDays[split].map((day) =>
      splits.days.precipitation[day - 1] > 0 ? 1 : 0,
    );
    return [
      {
        name: 'majority class',
        metrics: { accuracy: majority.accuracy },
        note: `always "${SEATTLE_RAIN_CLASSES[majority.majorityClass]}", the most frequent training label`,
      },
      {
        name: 'persistence',
        metrics: { accuracy: guessAccuracy(persistence, labels) },
        note: 'wet tomorrow iff wet today',
      },
    ];
  },
};
