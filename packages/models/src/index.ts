/**
 * `@elementwise/models`: Transformer models whose attention is element-wise attention (EA) or
 * standard softmax attention, for TensorFlow.js — char LM, sequence classifier, forecaster —
 * with training, evaluation, weights I/O through tfjs IOHandlers, and pretrained weights.
 */
export { type LayerQueriesAndKeys, queriesAndKeys } from './analysis/queries_and_keys.js';
export type {
  AttentionConfig,
  BackboneConfig,
  CharLMConfig,
  ForecasterConfig,
  ModelConfig,
  SequenceClassifierConfig,
  Task,
} from './config/types.js';
export { ConfigError } from './config/validate_config.js';
export { createModel, type Model } from './create_model.js';
export type { ForwardOptions } from './forward_context.js';
export { loadModel, saveModel } from './io/save_load.js';
export { fromPretrained, listPretrained } from './pretrained/from_pretrained.js';
export type { PretrainedEntry } from './pretrained/registry.js';
export type { Metrics } from './tasks/batch.js';
export { CharLM, UNKNOWN_ID } from './tasks/char_lm.js';
export { Forecaster } from './tasks/forecaster.js';
export { GenerationSession } from './tasks/generation_session.js';
export type { GenerateOptions } from './tasks/sampling.js';
export { SequenceClassifier } from './tasks/sequence_classifier.js';
export { AdamW, type AdamWConfig } from './training/adamw.js';
export { clipByGlobalNorm } from './training/clip.js';
export {
  type Dataset,
  type SequenceDataset,
  type SeriesDataset,
  seriesNormalization,
  type TextDataset,
  type TokenDataset,
} from './training/datasets.js';
export { evaluate } from './training/evaluate.js';
export { type LearningRateSchedule, learningRateAt } from './training/learning_rate.js';
export {
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
} from './training/train.js';
