import { DIGIT_CLASSES, DIGIT_COLUMNS, loadDigits } from '../data/digits.js';
import { majorityClassBaseline, sequenceClassification } from './sequence_classification.js';
import { type TaskDefinition, TRAINING_REGULARIZATION } from './task.js';

const CLASS_NAMES = Array.from({ length: DIGIT_CLASSES }, (_, i) => String(i));

export const digitsTask: TaskDefinition = {
  name: 'digits',
  ...sequenceClassification(DIGIT_COLUMNS, CLASS_NAMES),
  description:
    'UCI handwritten digits (Debian python3-sklearn), each 8×8 image read as 8 rows × 8 pixels; split 1257/180/360 by position; metric: accuracy',
  backbone: { dModel: 64, numHeads: 4, numLayers: 2, maxLength: 8, ffMultiplier: 2, dropout: 0.1 },
  training: {
    steps: 600,
    batchSize: 64,
    learningRate: 2e-3,
    warmupSteps: 50,
    minLearningRate: 1e-5,
    ...TRAINING_REGULARIZATION,
    evalEvery: 50,
    evalBatches: 4,
  },
  load: () => loadDigits(),
  baselines: (split) => {
    const splits = loadDigits();
    return [majorityClassBaseline(splits.train, splits[split], CLASS_NAMES)];
  },
};
