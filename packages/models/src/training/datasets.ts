/** char-lm: the model reads windows of maxLength + 1 characters (inputs and next characters). */
export interface TextDataset {
  kind: 'text';
  text: string;
}

/**
 * char-lm: N sequences prepared by the caller, each `length` token ids (`model.encode` gives
 * them), with the id each position must predict: `inputs` and `targets` [N, length], row-major
 * (usually `targets[i] = inputs[i + 1]`). `weights` [N, length] (>= 0, default all 1) weigh
 * each position in the loss and the metrics; 0 leaves a position out, e.g. to train and score
 * only the answers of a task. Batches draw whole sequences, reshuffled each epoch.
 */
export interface TokenDataset {
  kind: 'tokens';
  inputs: Int32Array;
  targets: Int32Array;
  length: number;
  weights?: Float32Array;
}

/** sequence-classifier: N examples of [length, channels], row-major, with integer labels. */
export interface SequenceDataset {
  kind: 'sequences';
  inputs: Float32Array;
  length: number;
  channels: number;
  labels: Int32Array;
}

/**
 * forecaster: a multichannel series `values` [T, channels] (row-major), optionally with
 * timestamps `times` [T]. Windows of `inputLength` steps predict the next `horizon` values of
 * channel 0.
 */
export interface SeriesDataset {
  kind: 'series';
  values: Float32Array;
  channels: number;
  times?: Float32Array;
  inputLength: number;
  horizon: number;
}

export type Dataset = TextDataset | TokenDataset | SequenceDataset | SeriesDataset;

/**
 * Per-channel mean and standard deviation of a series, for `ForecasterConfig.normalization`
 * (a channel with zero spread gets std 1).
 */
export function seriesNormalization(dataset: SeriesDataset): { mean: number[]; std: number[] } {
  const { values, channels } = dataset;
  const steps = Math.floor(values.length / channels);
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let t = 0; t < steps; t++)
    for (let c = 0; c < channels; c++) mean[c] += values[t * channels + c];
  for (let c = 0; c < channels; c++) mean[c] /= Math.max(1, steps);
  for (let t = 0; t < steps; t++) {
    for (let c = 0; c < channels; c++) std[c] += (values[t * channels + c] - mean[c]) ** 2;
  }
  for (let c = 0; c < channels; c++) std[c] = Math.sqrt(std[c] / Math.max(1, steps)) || 1;
  return { mean, std };
}
