import {
  type BlockAttention,
  linearLayer,
  positionalEmbeddingLayer,
  tokenEmbeddingLayer,
  transformerBlockLayer,
} from '@elementwise/layers';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelConfig, ResolvedBackboneConfig } from '../config/types.js';
import { LastPosition } from './last_position.js';
import { TimeEmbedding } from './time_embedding.js';

type SymbolicTensor = ReturnType<typeof tfl.input>;

/**
 * The tf.LayersModel of a resolved config, from `@elementwise/layers` and tfjs layers:
 * - char LM: ids [B, L] → `token_embedding` → backbone → `head` → logits [B, L, vocabulary + 1];
 * - sequence classifier: x [B, L, C] → `input_embedding` → backbone → mean over positions →
 *   `head` → logits [B, classes];
 * - forecaster: x [B, L, C] (and times [B, L] with `positional: 'time'`) → `input_embedding` →
 *   causal backbone → last position → `head` → [B, horizon] (normalized units);
 * where the backbone is `positional` (with the embedding dropout), `block_0 … block_{n-1}` and,
 * for Pre-LN, `final_norm`. Layer names are the weights' name prefixes.
 */
export function buildNetwork(config: ModelConfig): tfl.LayersModel {
  const backbone = config as ModelConfig & ResolvedBackboneConfig;
  const { dModel } = backbone;
  switch (config.task) {
    case 'char-lm': {
      const ids = tfl.input({ shape: [null], dtype: 'int32', name: 'ids' });
      const vocabularySize = Array.from(config.vocabulary).length + 1;
      const embedded = tokenEmbeddingLayer({
        vocabularySize,
        outputDim: dModel,
        name: 'token_embedding',
      }).apply(ids) as SymbolicTensor;
      const hidden = applyBackbone(embedded, backbone, true, null);
      const logits = linearLayer({ units: vocabularySize, name: 'head' }).apply(hidden);
      return tfl.model({ inputs: ids, outputs: logits as SymbolicTensor, name: 'char_lm' });
    }
    case 'sequence-classifier': {
      const x = tfl.input({ shape: [null, config.inputChannels], name: 'inputs' });
      const embedded = inputEmbedding(x, dModel);
      const hidden = applyBackbone(embedded, backbone, false, null);
      const pooled = tfl.layers.globalAveragePooling1d({ name: 'pool' }).apply(hidden);
      const logits = linearLayer({ units: config.numClasses, name: 'head' }).apply(pooled);
      return tfl.model({
        inputs: x,
        outputs: logits as SymbolicTensor,
        name: 'sequence_classifier',
      });
    }
    case 'forecaster': {
      const x = tfl.input({ shape: [null, config.inputChannels], name: 'inputs' });
      const times =
        backbone.positional === 'time' ? tfl.input({ shape: [null], name: 'times' }) : null;
      const hidden = applyBackbone(inputEmbedding(x, dModel), backbone, true, times);
      const last = new LastPosition({ name: 'last_position' }).apply(hidden);
      const forecast = linearLayer({ units: config.horizon, name: 'head' }).apply(last);
      return tfl.model({
        inputs: times === null ? x : [x, times],
        outputs: forecast as SymbolicTensor,
        name: 'forecaster',
      });
    }
  }
}

function inputEmbedding(x: SymbolicTensor, dModel: number): SymbolicTensor {
  return linearLayer({ units: dModel, name: 'input_embedding' }).apply(x) as SymbolicTensor;
}

function applyBackbone(
  embedded: SymbolicTensor,
  config: ResolvedBackboneConfig,
  causal: boolean,
  times: SymbolicTensor | null,
): SymbolicTensor {
  const { maxLength, dropout } = config;
  let x =
    config.positional === 'time'
      ? new TimeEmbedding({ maxLength, dropout, name: 'positional' }).apply(
          times === null ? embedded : [embedded, times],
        )
      : positionalEmbeddingLayer({
          kind: config.positional,
          maxLength,
          dropout,
          name: 'positional',
        }).apply(embedded);
  for (let i = 0; i < config.numLayers; i++) {
    x = transformerBlockLayer({
      attention: blockAttention(config),
      causal,
      shortConv: config.shortConv,
      outputGate: config.outputGate,
      norm: config.norm,
      ffMultiplier: config.ffMultiplier,
      activation: config.activation,
      dropout,
      name: `block_${i}`,
    }).apply(x);
  }
  if (config.norm === 'pre') {
    x = tfl.layers.layerNormalization({ epsilon: 1e-5, name: 'final_norm' }).apply(x);
  }
  return x as SymbolicTensor;
}

function blockAttention(config: ResolvedBackboneConfig): BlockAttention {
  const { attention } = config;
  if (attention.kind === 'softmax') return { kind: 'softmax', numHeads: config.numHeads };
  return {
    kind: 'ea',
    order: attention.order,
    groupSize: attention.groupSize,
    qkNorm: attention.qkNorm,
    qkBound: attention.qkBound,
  };
}
