import type { ModelConfig, ResolvedBackboneConfig } from '../config/types.js';

/**
 * The weights a model of a config holds (their stable names, shapes, in the model's variable
 * order), computed from the config alone so that a loader can compare an untrusted manifest
 * with them before a single variable is allocated: a hostile `model.json` may pair a config of
 * 1 GiB of parameters (within the config limits) with a manifest of a few bytes.
 *
 * Mirrors the layers (`Linear`: `<name>/kernel` [in, out] + `<name>/bias` [out], `LayerNorm`:
 * `gain` + `bias`, `RMSNorm`: `gain`, …) as `config/parameter_count.ts` mirrors their sizes;
 * tests compare both with built models of every block option.
 */

/** One weight of a model: its stable name and shape, all float32. */
export interface ExpectedWeight {
  name: string;
  shape: number[];
}

/** Every weight of the model of a resolved config (as `resolveConfig` returns it), in order. */
export function expectedWeights(config: ModelConfig): ExpectedWeight[] {
  const weights: ExpectedWeight[] = [];
  const add = (name: string, shape: number[]) => {
    weights.push({ name, shape });
  };
  const linear = (name: string, inputs: number, outputs: number) => {
    add(`${name}/kernel`, [inputs, outputs]);
    add(`${name}/bias`, [outputs]);
  };
  const layerNorm = (name: string, size: number) => {
    add(`${name}/gain`, [size]);
    add(`${name}/bias`, [size]);
  };

  const backbone = config as ModelConfig & ResolvedBackboneConfig;
  const d = backbone.dModel;
  const vocabularySize =
    config.task === 'char-lm' ? Array.from(config.vocabulary).length + 1 : undefined;
  if (vocabularySize !== undefined) add('token_embedding', [vocabularySize, d]);
  else linear('input_embedding', (config as { inputChannels: number }).inputChannels, d);

  if (backbone.positional === 'learned') add('positional/table', [backbone.maxLength, d]);
  if (backbone.positional === 'time') {
    add('positional/frequencies', [d]);
    add('positional/phases', [d]);
  }
  const roles = ['query', 'key', 'value'];
  const hidden = Math.round(d * backbone.ffMultiplier);
  for (let i = 0; i < backbone.numLayers; i++) {
    const block = `block_${i}`;
    const attention = `${block}/attention`;
    for (const role of roles) linear(`${attention}/${role}`, d, d);
    if (backbone.shortConv > 0) {
      for (const role of roles) {
        add(`${attention}/${role}_conv/kernel`, [backbone.shortConv, d]);
        add(`${attention}/${role}_conv/bias`, [d]);
      }
    }
    if (backbone.outputGate) linear(`${attention}/gate`, d, d);
    linear(`${attention}/output`, d, d);
    if (backbone.attention.kind === 'ea' && backbone.attention.qkNorm === 'rms') {
      add(`${attention}/query_norm/gain`, [d]);
      add(`${attention}/key_norm/gain`, [d]);
    }
    layerNorm(`${block}/attention_norm`, d);
    if (hidden > 0) {
      linear(`${block}/feed_forward/expand`, d, hidden);
      linear(`${block}/feed_forward/contract`, hidden, d);
      layerNorm(`${block}/feed_forward_norm`, d);
    }
  }
  if (backbone.norm === 'pre') layerNorm('final_norm', d);

  switch (config.task) {
    case 'char-lm':
      linear('head', d, vocabularySize as number);
      break;
    case 'sequence-classifier':
      linear('head', d, config.numClasses);
      break;
    case 'forecaster':
      linear('head', d, config.horizon);
      break;
  }
  return weights;
}
