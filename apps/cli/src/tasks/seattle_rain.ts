import { guessAccuracy } from '../baselines/classification.js';
import {
  loadSeattleRain,
  SEATTLE_RAIN_CHANNELS,
  SEATTLE_RAIN_CLASSES,
  SEATTLE_RAIN_WINDOW,
} from '../data/seattle_rain.js';
import { majorityClassBaseline, sequenceClassification } from './sequence_classification.js';
import { type Baseline, type TaskDefinition, TRAINING_REGULARIZATION } from './task.js';

export const seattleRainTask: TaskDefinition = {
  name: 'seattle-rain',
  ...sequenceClassification(SEATTLE_RAIN_CHANNELS.length, SEATTLE_RAIN_CLASSES),
  description:
    'Seattle "rain tomorrow" (vega-datasets seattle-weather.csv): 14 days × 6 weather channels → is the next day wet; split by date 2012–14 / 2015 H1 / 2015 H2; metric: accuracy',
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
    ...TRAINING_REGULARIZATION,
    evalEvery: 25,
    evalBatches: 3,
    earlyStoppingPatience: 6,
  },
  load: () => loadSeattleRain(),
  baselines(split): Baseline[] {
    const splits = loadSeattleRain();
    const labels = splits[split].labels;
    const persistence = splits.labelDays[split].map((day) =>
      splits.days.precipitation[day - 1] > 0 ? 1 : 0,
    );
    return [
      majorityClassBaseline(splits.train, splits[split], SEATTLE_RAIN_CLASSES),
      {
        name: 'persistence',
        metrics: { accuracy: guessAccuracy(persistence, labels) },
        note: 'wet tomorrow iff wet today',
      },
    ];
  },
};
