/**
 * Model configuration: plain JSON, stored beside the weights. Every EA model has a softmax twin
 * whose config differs only in `attention`.
 */

/** Element-wise attention of Taylor order t (even) or exact, or standard multi-head softmax. */
export type AttentionConfig =
  | {
      kind: 'ea';
      /** Highest Taylor degree t (even, >= 0), or `'exact'` (quadratic, no recurrent form). */
      order: number | 'exact';
      /** `'rms'`: RMSNorm with a learned gain on q and k before EA. Default `'none'` (paper). */
      qkNorm?: 'none' | 'rms';
      /**
       * b > 0 maps q and k through b·tanh(x / b) before EA, so |2qk| < 2b² stays where the Taylor
       * series is close to e^{2qk} (b = 1.2: |2qk| < 2.9). Default 0: unbounded (paper).
       */
      qkBound?: number;
      /**
       * Channels per similarity group, d (must divide dModel). Default 1: the paper's per-channel
       * EA. d > 1 scores each group of d channels by its mean squared distance, so a query can
       * match a key on several channels at once (content lookup); the recurrent state grows to
       * C(d + t, t) features per channel.
       */
      groupSize?: number;
    }
  | { kind: 'softmax' };

export interface BackboneConfig {
  /** Width of the residual stream. */
  dModel: number;
  /** Softmax attention heads (dModel must be divisible by it). EA works per channel and ignores it. */
  numHeads: number;
  numLayers: number;
  /** Feed-forward width as a multiple of dModel; 0 leaves the feed-forward out (attention-only blocks). Default 4. */
  ffMultiplier?: number;
  /** Feed-forward activation. Default `'gelu'` (tanh approximation). */
  activation?: 'gelu' | 'relu';
  /** Dropout rate after embeddings, attention and feed-forward. Default 0.1. */
  dropout?: number;
  /** Post-LN (the paper's setup) or Pre-LN (with a final LayerNorm). Default `'post'`. */
  norm?: 'post' | 'pre';
  /** Absolute positional embedding. Default `'sinusoidal'`. */
  positional?: 'sinusoidal' | 'learned' | 'time';
  /**
   * Kernel size of a causal depthwise convolution (with SiLU) on q, k and v of every attention
   * layer, as in GLA, Mamba and Based; 0 for none (the paper's block). Default 0. Generation
   * carries the last `shortConv - 1` projections per layer, so a step keeps a constant cost.
   */
  shortConv?: number;
  /**
   * Gate the attention output by silu(x W_g + b_g) before its output projection (GLA, Mamba).
   * Default false (the paper's block).
   */
  outputGate?: boolean;
  /** Longest sequence the model is trained on (learned positions have this many rows). */
  maxLength: number;
  attention: AttentionConfig;
}

export interface CharLMConfig extends BackboneConfig {
  task: 'char-lm';
  /** One character per token; characters outside it map to the reserved id 0. */
  vocabulary: string;
}

export interface SequenceClassifierConfig extends BackboneConfig {
  task: 'sequence-classifier';
  inputChannels: number;
  numClasses: number;
  classNames?: string[];
}

export interface ForecasterConfig extends BackboneConfig {
  task: 'forecaster';
  inputChannels: number;
  /** Steps of channel 0 predicted after the input window. */
  horizon: number;
  /** Per-channel input normalisation; predictions are returned in original units. */
  normalization?: { mean: number[]; std: number[] };
}

export type ModelConfig = CharLMConfig | SequenceClassifierConfig | ForecasterConfig;
export type Task = ModelConfig['task'];

/** A backbone config with every default filled in, as models store it. */
export type ResolvedBackboneConfig = Required<Omit<BackboneConfig, 'attention'>> & {
  attention: ResolvedAttentionConfig;
};
export type ResolvedAttentionConfig =
  | {
      kind: 'ea';
      order: number | 'exact';
      qkNorm: 'none' | 'rms';
      qkBound: number;
      groupSize: number;
    }
  | { kind: 'softmax' };
