import type { BackboneConfig, Dataset, Metrics, ModelConfig } from '@elementwise/models';

export interface TaskSplits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
}

/** Backbone settings a task picks when the command line does not. */
export type BackboneDefaults = Omit<BackboneConfig, 'attention'>;

/** Training settings a task picks when the command line does not. */
export interface TrainingDefaults {
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  minLearningRate: number;
  weightDecay: number;
  clipNorm: number;
  evalEvery: number;
  evalBatches: number;
  earlyStoppingPatience?: number;
}

/** AdamW's decoupled weight decay and the gradient-norm clip that every task trains with. */
export const TRAINING_REGULARIZATION = { weightDecay: 0.01, clipNorm: 1 } as const;

/** A reference result on the same split, computed without a model. */
export interface Baseline {
  name: string;
  metrics: Partial<Metrics>;
  note: string;
}

export interface TaskOptions {
  /** Forecast steps (forecasting tasks only). */
  horizon?: number;
}

/** A dataset with its fixed split, the model it trains and the baselines it is compared with. */
export interface TaskDefinition {
  name: string;
  modelTask: ModelConfig['task'];
  description: string;
  /** Metrics the tables show, in order, with their direction. */
  metrics: Array<{ key: keyof Metrics; label: string; better: 'lower' | 'higher' }>;
  backbone: BackboneDefaults;
  training: TrainingDefaults;
  load(options: TaskOptions): TaskSplits;
  /** The full model config for a backbone, from the task's data (vocabulary, channels, ...). */
  modelConfig(backbone: BackboneConfig, splits: TaskSplits, options: TaskOptions): ModelConfig;
  /** Task options implied by a saved model's config (e.g. the horizon of a forecaster). */
  optionsFromConfig(config: ModelConfig): TaskOptions;
  /** Whether a saved model's config fits this task's data. */
  accepts(config: ModelConfig): boolean;
  baselines(split: 'validation' | 'test', options: TaskOptions): Baseline[];
}
