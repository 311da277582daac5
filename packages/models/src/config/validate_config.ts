import { groupFeatureCount, MAX_GROUP_FEATURES, orderProblem } from '@elementwise/attention';
import { describeValue } from '../describe_value.js';
import { configParameterCount } from './parameter_count.js';
import type {
  AttentionConfig,
  BackboneConfig,
  CharLMConfig,
  ForecasterConfig,
  ModelConfig,
  ResolvedAttentionConfig,
  ResolvedBackboneConfig,
  SequenceClassifierConfig,
} from './types.js';

const BACKBONE_FIELDS = [
  'dModel',
  'numHeads',
  'numLayers',
  'ffMultiplier',
  'activation',
  'dropout',
  'norm',
  'positional',
  'shortConv',
  'outputGate',
  'maxLength',
  'attention',
] as const;

/** Longest short convolution: it is meant to reach the last few tokens, not to replace attention. */
const MAX_SHORT_CONV = 16;

/** Largest q/k bound: past it, |2qk| < 2b² is no bound the Taylor series can follow anyway. */
const MAX_QK_BOUND = 8;

/**
 * Most parameters a model may hold: 2^28 (268 M), 1 GiB of float32 weights. Training holds
 * three times that (AdamW's two moments) plus activations, which is already past what a
 * browser tab or the tfjs wasm backend's 4 GiB heap can spare; checked from the config before
 * anything is allocated, so a config (or a model.json) claiming more fails with a ConfigError
 * instead of a RangeError or an out-of-memory abort.
 */
export const MAX_PARAMETERS = 2 ** 28;

/**
 * Longest maxLength: 2^24 positions. Past it positions are no longer exact in float32 (the
 * `'time'` embedding computes them as float32), and EA's linear cost is the reason to go long,
 * not past this.
 */
export const MAX_LENGTH = 2 ** 24;

const TASK_FIELDS: Record<ModelConfig['task'], readonly string[]> = {
  'char-lm': ['task', 'vocabulary'],
  'sequence-classifier': ['task', 'inputChannels', 'numClasses', 'classNames'],
  forecaster: ['task', 'inputChannels', 'horizon', 'normalization'],
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(where: string, message: string): never {
  throw new ConfigError(`${where}: ${message}`);
}

function checkFields(where: string, path: string, value: object, allowed: readonly string[]) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(where, `unknown field ${path}${key}; expected only ${allowed.join(', ')}`);
    }
  }
}

function positiveInteger(where: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(where, `config.${field} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

function oneOf<T extends string>(
  where: string,
  field: string,
  value: unknown,
  options: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!options.includes(value as T)) {
    fail(
      where,
      `config.${field} must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${describeValue(value)}`,
    );
  }
  return value as T;
}

function resolveAttention(where: string, value: unknown, dModel: number): ResolvedAttentionConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(
      where,
      `config.attention must be {kind: 'ea', order} or {kind: 'softmax'}, got ${describeValue(value)}`,
    );
  }
  const attention = value as AttentionConfig;
  if (attention.kind === 'softmax') {
    checkFields(where, 'attention.', attention, ['kind']);
    return { kind: 'softmax' };
  }
  if (attention.kind === 'ea') {
    checkFields(where, 'attention.', attention, [
      'kind',
      'order',
      'qkNorm',
      'qkBound',
      'groupSize',
    ]);
    const { order } = attention;
    const problem = orderProblem(order);
    if (problem !== undefined) fail(where, `config.attention.order ${problem}`);
    const qkNorm = oneOf(where, 'attention.qkNorm', attention.qkNorm, ['none', 'rms'], 'none');
    const qkBound = attention.qkBound === undefined ? 0 : attention.qkBound;
    if (typeof qkBound !== 'number' || !(qkBound >= 0 && qkBound <= MAX_QK_BOUND)) {
      fail(
        where,
        `config.attention.qkBound must be 0 (unbounded) or a bound in (0, ${MAX_QK_BOUND}], got ${describeValue(qkBound)}`,
      );
    }
    const groupSize = attention.groupSize === undefined ? 1 : attention.groupSize;
    if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || groupSize < 1) {
      fail(
        where,
        `config.attention.groupSize must be an integer >= 1, got ${describeValue(groupSize)}`,
      );
    }
    if (dModel % groupSize !== 0) {
      fail(
        where,
        `config.attention.groupSize must divide config.dModel (${dModel}), got ${groupSize}`,
      );
    }
    if (order !== 'exact' && groupFeatureCount(groupSize, order) > MAX_GROUP_FEATURES) {
      fail(
        where,
        `config.attention.groupSize ${groupSize} at order ${order} needs ${groupFeatureCount(groupSize, order)} Taylor features per channel, more than ${MAX_GROUP_FEATURES}; use a smaller groupSize or order`,
      );
    }
    return { kind: 'ea', order, qkNorm, qkBound, groupSize };
  }
  fail(
    where,
    `config.attention.kind must be 'ea' or 'softmax', got ${describeValue((attention as { kind: unknown }).kind)}`,
  );
}

function resolveBackbone(where: string, config: BackboneConfig): ResolvedBackboneConfig {
  const dModel = positiveInteger(where, 'dModel', config.dModel);
  const numHeads = positiveInteger(where, 'numHeads', config.numHeads);
  if (dModel % numHeads !== 0) {
    fail(
      where,
      `config.dModel (${dModel}) must be divisible by config.numHeads (${numHeads}); e.g. numHeads ${largestDivisorUpTo(dModel, numHeads)}`,
    );
  }
  const numLayers = positiveInteger(where, 'numLayers', config.numLayers);
  const ffMultiplier = config.ffMultiplier ?? 4;
  if (typeof ffMultiplier !== 'number' || !(ffMultiplier >= 0) || !Number.isFinite(ffMultiplier)) {
    fail(
      where,
      `config.ffMultiplier must be a finite number >= 0 (0: attention-only blocks), got ${describeValue(ffMultiplier)}`,
    );
  }
  if (!Number.isInteger(ffMultiplier * dModel)) {
    fail(
      where,
      `config.ffMultiplier * config.dModel must be an integer, got ${ffMultiplier} * ${dModel}`,
    );
  }
  const dropout = config.dropout ?? 0.1;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    fail(where, `config.dropout must be a number in [0, 1), got ${describeValue(dropout)}`);
  }
  const shortConv = config.shortConv === undefined ? 0 : config.shortConv;
  if (
    typeof shortConv !== 'number' ||
    !Number.isInteger(shortConv) ||
    shortConv < 0 ||
    shortConv === 1 ||
    shortConv > MAX_SHORT_CONV
  ) {
    fail(
      where,
      `config.shortConv must be 0 (none) or an integer kernel size from 2 to ${MAX_SHORT_CONV}, got ${describeValue(shortConv)}`,
    );
  }
  const outputGate = config.outputGate === undefined ? false : config.outputGate;
  if (typeof outputGate !== 'boolean') {
    fail(where, `config.outputGate must be true or false, got ${describeValue(outputGate)}`);
  }
  return {
    dModel,
    numHeads,
    numLayers,
    ffMultiplier,
    activation: oneOf(where, 'activation', config.activation, ['gelu', 'relu'], 'gelu'),
    dropout,
    norm: oneOf(where, 'norm', config.norm, ['post', 'pre'], 'post'),
    positional: oneOf(
      where,
      'positional',
      config.positional,
      ['sinusoidal', 'learned', 'time'],
      'sinusoidal',
    ),
    shortConv,
    outputGate,
    maxLength: boundedLength(where, config.maxLength),
    attention: resolveAttention(where, config.attention, dModel),
  };
}

function boundedLength(where: string, value: unknown): number {
  const maxLength = positiveInteger(where, 'maxLength', value);
  if (maxLength > MAX_LENGTH) {
    fail(
      where,
      `config.maxLength must be at most MAX_LENGTH = ${MAX_LENGTH} (longer positions are not exact in float32), got ${maxLength}`,
    );
  }
  return maxLength;
}

function largestDivisorUpTo(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

function resolveCharLM(where: string, config: CharLMConfig): CharLMConfig {
  const { vocabulary } = config;
  if (typeof vocabulary !== 'string' || vocabulary.length === 0) {
    fail(where, `config.vocabulary must be a non-empty string, got ${describeValue(vocabulary)}`);
  }
  const seen = new Set<string>();
  for (const char of vocabulary) {
    if (seen.has(char)) {
      fail(
        where,
        `config.vocabulary must list each character once; ${JSON.stringify(char)} repeats`,
      );
    }
    seen.add(char);
  }
  return { ...resolveBackbone(where, config), task: 'char-lm', vocabulary };
}

function resolveClassifier(
  where: string,
  config: SequenceClassifierConfig,
): SequenceClassifierConfig {
  const inputChannels = positiveInteger(where, 'inputChannels', config.inputChannels);
  const numClasses = positiveInteger(where, 'numClasses', config.numClasses);
  if (numClasses < 2) fail(where, `config.numClasses must be at least 2, got ${numClasses}`);
  const resolved: SequenceClassifierConfig = {
    ...resolveBackbone(where, config),
    task: 'sequence-classifier',
    inputChannels,
    numClasses,
  };
  if (config.classNames !== undefined) {
    const names = config.classNames;
    if (
      !Array.isArray(names) ||
      names.length !== numClasses ||
      names.some((n) => typeof n !== 'string')
    ) {
      fail(
        where,
        `config.classNames must be ${numClasses} strings (numClasses), got ${describeValue(names)}`,
      );
    }
    resolved.classNames = [...names];
  }
  return resolved;
}

function resolveForecaster(where: string, config: ForecasterConfig): ForecasterConfig {
  const inputChannels = positiveInteger(where, 'inputChannels', config.inputChannels);
  const resolved: ForecasterConfig = {
    ...resolveBackbone(where, config),
    task: 'forecaster',
    inputChannels,
    horizon: positiveInteger(where, 'horizon', config.horizon),
  };
  if (config.normalization !== undefined) {
    const norm = config.normalization;
    if (norm === null || typeof norm !== 'object') {
      fail(where, `config.normalization must be {mean, std}, got ${describeValue(norm)}`);
    }
    checkFields(where, 'normalization.', norm, ['mean', 'std']);
    for (const key of ['mean', 'std'] as const) {
      const values = norm[key];
      if (
        !Array.isArray(values) ||
        values.length !== inputChannels ||
        values.some((x) => typeof x !== 'number' || !Number.isFinite(x))
      ) {
        fail(
          where,
          `config.normalization.${key} must be ${inputChannels} finite numbers (inputChannels), got ${describeValue(values)}`,
        );
      }
    }
    if (norm.std.some((s) => s <= 0)) {
      fail(where, `config.normalization.std must be positive, got [${norm.std.join(', ')}]`);
    }
    resolved.normalization = { mean: [...norm.mean], std: [...norm.std] };
  }
  return resolved;
}

/**
 * Checks a config and fills in its defaults. Unknown fields, wrong types and inconsistent values
 * throw a {@link ConfigError} naming the field and the expected value.
 */
export function resolveConfig(config: ModelConfig, where = 'createModel'): ModelConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    fail(where, `config must be an object, got ${describeValue(config)}`);
  }
  const task = config.task;
  if (!(task in TASK_FIELDS)) {
    fail(
      where,
      `config.task must be one of ${Object.keys(TASK_FIELDS)
        .map((t) => `'${t}'`)
        .join(', ')}, got ${describeValue(task)}`,
    );
  }
  checkFields(where, '', config, [...BACKBONE_FIELDS, ...TASK_FIELDS[task]]);
  const resolved = resolveTask(where, config);
  checkSize(where, resolved);
  return resolved;
}

function resolveTask(where: string, config: ModelConfig): ModelConfig {
  switch (config.task) {
    case 'char-lm':
      return resolveCharLM(where, config);
    case 'sequence-classifier':
      return resolveClassifier(where, config);
    case 'forecaster':
      return resolveForecaster(where, config);
  }
}

/** Refuses a config whose model would hold more than {@link MAX_PARAMETERS} parameters. */
function checkSize(where: string, config: ModelConfig): void {
  const count = configParameterCount(config);
  if (count <= MAX_PARAMETERS) return;
  const sizes = ['dModel', 'numLayers', 'ffMultiplier'];
  if (config.positional === 'learned') sizes.push('maxLength (learned positions)');
  if (config.task === 'char-lm') sizes.push('the vocabulary');
  else sizes.push('inputChannels', config.task === 'forecaster' ? 'horizon' : 'numClasses');
  fail(
    where,
    `the config describes a model of ${count.toLocaleString('en-US')} parameters, more than MAX_PARAMETERS = ${MAX_PARAMETERS.toLocaleString('en-US')} (1 GiB of float32 weights); reduce ${sizes.join(', ')} (dModel ${config.dModel}, numLayers ${config.numLayers}, maxLength ${config.maxLength})`,
  );
}
