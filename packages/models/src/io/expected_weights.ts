import type { ModelConfig, ResolvedBackboneConfig } from '../config/types.js';

/**
 * The weights a model of a config holds (their stable names, shapes, in the model's variable
 * order), computed from the config alone so that a loader can compare an untrusted manifest
 * with them before a single variable is allocated: a hostile `model.json` may pair a config of
 * 1 GiB of parameters (within the config limits) with a manifest of a few bytes.
 *
 * Mirrors the network's layers (`Linear`: `<name>/kernel` [in, out] + `<name>/bias` [out], the
 * blocks' layer norms: `gain` + `bias`, tfjs's final `LayerNormalization`: `gamma` + `beta`, …)
 * as `config/parameter_count.ts` mirrors their sizes; tests compare both with built networks of
 * every block option.
 */

/** One weight of a model: its stable name and shape, all float32. */
export interface ExpectedWeight {
  name: string;
  shape: number[];
}

/** Every weight of the model of a resolved config (as `resolveConfig` returns it). */
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
  if (vocabularySize !== undefined) add('token_embedding/embeddings', [vocabularySize, d]);
  else linear('input_embedding', (config as { inputChannels: number }).inputChannels, d);

  if (backbone.positional === 'learned') add('positional/embeddings', [backbone.maxLength, d]);
  if (backbone.positional === 'time') {
    add('positional/frequencies', [d]);
    add('positional/phases', [d]);
  }
  const roles = ['query', 'key', 'value'];
  const hidden = Math.round(d * backbone.ffMultiplier);
  for (let i = 0; i < backbone.numLayers; i++) {
    const block = `block_${i}`;
    for (const role of roles) linear(`${block}/${role}`, d, d);
    linear(`${block}/output`, d, d);
    if (backbone.shortConv > 0) {
      for (const role of roles) {
        add(`${block}/${role}_conv/kernel`, [backbone.shortConv, d]);
        add(`${block}/${role}_conv/bias`, [d]);
      }
    }
    if (backbone.outputGate) linear(`${block}/gate`, d, d);
    if (backbone.attention.kind === 'ea' && backbone.attention.qkNorm === 'rms') {
      add(`${block}/query_norm/gain`, [d]);
      add(`${block}/key_norm/gain`, [d]);
    }
    layerNorm(`${block}/attention_norm`, d);
    if (hidden > 0) {
      linear(`${block}/feed_forward/expand`, d, hidden);
      linear(`${block}/feed_forward/contract`, hidden, d);
      layerNorm(`${block}/feed_forward_norm`, d);
    }
  }
  if (backbone.norm === 'pre') {
    add('final_norm/gamma', [d]);
    add('final_norm/beta', [d]);
  }

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
