import type { SequenceClassifierConfig, SequenceDataset } from '@elementwise/models';
import { majorityClassAccuracy } from '../baselines/classification.js';
import type { Baseline, TaskDefinition } from './task.js';

/**
 * What every sequence-classification task shares, given the width of its inputs and the names
 * of its classes: the metrics it reports, the model config it trains and the saved configs it
 * accepts.
 */
export function sequenceClassification(
  inputChannels: number,
  classNames: readonly string[],
): Pick<TaskDefinition, 'modelTask' | 'metrics' | 'modelConfig' | 'optionsFromConfig' | 'accepts'> {
  return {
    modelTask: 'sequence-classifier',
    metrics: [
      { key: 'accuracy', label: 'accuracy', better: 'higher' },
      { key: 'loss', label: 'loss (nats)', better: 'lower' },
    ],
    modelConfig: (backbone): SequenceClassifierConfig => ({
      ...backbone,
      task: 'sequence-classifier',
      inputChannels,
      numClasses: classNames.length,
      classNames: [...classNames],
    }),
    optionsFromConfig: () => ({}),
    accepts: (config) =>
      config.task === 'sequence-classifier' &&
      config.inputChannels === inputChannels &&
      config.numClasses === classNames.length,
  };
}

/** Always answering the most frequent class of the training split. */
export function majorityClassBaseline(
  train: SequenceDataset,
  evaluated: SequenceDataset,
  classNames: readonly string[],
): Baseline {
  const majority = majorityClassAccuracy(train.labels, evaluated.labels);
  return {
    name: 'majority class',
    metrics: { accuracy: majority.accuracy },
    note: `always "${classNames[majority.majorityClass]}", the most frequent training label`,
  };
}
