import type { SequenceClassifierConfig, SequenceDataset } from '@elementwise/models';
import { majorityClassAccuracy } from '../baselines/classification.js';
import { DIGIT_CLASSES, DIGIT_COLUMNS, loadDigits } from '../data/digits.js';
import type { Baseline, TaskDefinition } from './task.js';

const CLASS_NAMES = Array.from({ length: DIGIT_CLASSES }, (_, i) => String(i));

export const digitsTask: TaskDefinition = {
  name: 'digits',
  modelTask: 'sequence-classifier',
  description:
    'UCI handwritten digits (Debian python3-sklearn), each 8×8 image read as 8 rows × 8 pixels; split 1257/180/360 by position; metric: accuracy',
  metrics: [
    { key: 'accuracy', label: 'accuracy', better: 'higher' },
    { key: 'loss', label: 'loss (nats)', better: 'lower' },
  ],
  backbone: { dModel: 64, numHeads: 4, numLayers: 2, maxLength: 8, ffMultiplier: 2, dropout: 0.1 },
  training: {
    steps: 600,
    batchSize: 64,
    learningRate: 2e-3,
    warmupSteps: 50,
    minLearningRate: 1e-5,
    weightDecay: 0.01,
    clipNorm: 1,
    evalEvery: 50,
    evalBatches: 4,
  },
  load: () => loadDigits(),
  modelConfig(backbone): SequenceClassifierConfig {
    return {
      ...backbone,
      task: 'sequence-classifier',
      inputChannels: DIGIT_COLUMNS,
      numClasses: DIGIT_CLASSES,
      classNames: CLASS_NAMES,
    };
  },
  optionsFromConfig: () => ({}),
  accepts: (config) =>
    config.task === 'sequence-classifier' &&
    config.inputChannels === DIGIT_COLUMNS &&
    config.numClasses === DIGIT_CLASSES,
  baselines(split): Baseline[] {
    const splits = loadDigits();
    const majority = majorityClassAccuracy(
      splits.train.labels,
      (splits[split] as SequenceDataset).labels,
    );
    return [
      {
        name: 'majority class',
        metrics: { accuracy: majority.accuracy },
        note: `always "${majority.majorityClass}", the most frequent training label`,
      },
    ];
  },
};
