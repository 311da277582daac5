import type {
  CharLMConfig,
  ForecasterConfig,
  ModelConfig,
  SequenceClassifierConfig,
} from './config/types.js';
import { resolveConfig } from './config/validate_config.js';
import { checkNumber, checkOptions } from './options.js';
import { randomSeed } from './random.js';
import { CharLM } from './tasks/char_lm.js';
import { Forecaster } from './tasks/forecaster.js';
import { SequenceClassifier } from './tasks/sequence_classifier.js';

export type Model = CharLM | SequenceClassifier | Forecaster;

/**
 * Builds the model of a config with freshly initialised weights. The same config and seed give
 * the same weights on every backend. Bad configs throw naming the field and the expected value.
 */
export function createModel(config: CharLMConfig, options?: { seed?: number }): CharLM;
export function createModel(
  config: SequenceClassifierConfig,
  options?: { seed?: number },
): SequenceClassifier;
export function createModel(config: ForecasterConfig, options?: { seed?: number }): Forecaster;
export function createModel(config: ModelConfig, options?: { seed?: number }): Model;
export function createModel(config: ModelConfig, options?: { seed?: number }): Model {
  const resolved = resolveConfig(config);
  const { seed = randomSeed() } = checkOptions<{ seed: number }>('createModel', options, ['seed']);
  checkNumber('createModel', 'options.seed', seed, Number.isFinite, 'a finite number');
  switch (resolved.task) {
    case 'char-lm':
      return new CharLM(resolved, seed);
    case 'sequence-classifier':
      return new SequenceClassifier(resolved, seed);
    case 'forecaster':
      return new Forecaster(resolved, seed);
  }
}
