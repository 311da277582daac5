import type { ModelConfig, ResolvedBackboneConfig } from './types.js';

/**
 * The number of parameters the model of a resolved config holds, computed from the config alone
 * so that a config too large to hold is refused before anything is allocated. Mirrors the
 * layers' shapes (tests compare it with `parameterCount()` of built models).
 */
export function configParameterCount(config: ModelConfig): number {
  const backbone = config as ModelConfig & ResolvedBackboneConfig;
  const d = backbone.dModel;
  const linear = (inputs: number, outputs: number) => inputs * outputs + outputs;
  const norm = 2 * d;

  let attention = 4 * linear(d, d);
  if (backbone.outputGate) attention += linear(d, d);
  if (backbone.shortConv > 0) attention += 3 * (backbone.shortConv * d + d);
  if (backbone.attention.kind === 'ea' && backbone.attention.qkNorm === 'rms') attention += 2 * d;
  const hidden = Math.round(d * backbone.ffMultiplier);
  const feedForward = hidden === 0 ? 0 : linear(d, hidden) + linear(hidden, d) + norm;
  const block = attention + norm + feedForward;

  let total = backbone.numLayers * block;
  if (backbone.positional === 'learned') total += backbone.maxLength * d;
  if (backbone.positional === 'time') total += 2 * d;
  if (backbone.norm === 'pre') total += norm;

  switch (config.task) {
    case 'char-lm': {
      const vocabulary = Array.from(config.vocabulary).length + 1;
      return total + vocabulary * d + linear(d, vocabulary);
    }
    case 'sequence-classifier':
      return total + linear(config.inputChannels, d) + linear(d, config.numClasses);
    case 'forecaster':
      return total + linear(config.inputChannels, d) + linear(d, config.horizon);
  }
}
