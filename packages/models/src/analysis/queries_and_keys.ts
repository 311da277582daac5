import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../create_model.js';
import { checkNumber, checkOptions, isPositiveInteger } from '../options.js';
import { assertModel } from '../tasks/base_model.js';
import type { Dataset } from '../training/datasets.js';
import { createSampler, disposeBatch } from '../training/samplers.js';

/** One attention layer's queries and keys over a batch of examples, read back. */
export interface LayerQueriesAndKeys {
  /** The block's index. */
  layer: number;
  /** [B, L, width] row-major: what the attention compares (EA: per channel; softmax: heads side by side). */
  query: Float32Array;
  key: Float32Array;
  /** [B, L, width] */
  shape: [number, number, number];
  /** Whether query i sees only keys j ≤ i. */
  causal: boolean;
}

/**
 * The queries and keys every attention layer of `model` compares on the first `examples`
 * examples of `data` (all of them if it has fewer; in the order `evaluate` covers it), without
 * dropout: for looking at what
 * trained attention does, e.g. how large EA's |2qk| grows. Each block's input comes from a
 * sub-model of `model.network`; its attention layer's `queriesAndKeys` does the rest.
 */
export async function queriesAndKeys(
  model: Model,
  data: Dataset,
  options: { examples: number },
): Promise<LayerQueriesAndKeys[]> {
  const where = 'queriesAndKeys';
  assertModel(where, model);
  const given = checkOptions<{ examples: number }>(where, options, ['examples']);
  const examples = checkNumber(
    where,
    'options.examples',
    given.examples,
    isPositiveInteger,
    'a positive integer',
  );
  const sampler = createSampler(model, data, where);
  const count = Math.min(examples, sampler.size);
  const batch = sampler.batchOf(Array.from({ length: count }, (_, i) => i));
  const layers: LayerQueriesAndKeys[] = [];
  try {
    const inputs = model.blockInputs(batch);
    try {
      const blocks = model.blocks;
      for (const [layer, block] of blocks.entries()) {
        const { query, key } = block.queriesAndKeys(inputs[layer]);
        try {
          const [q, k] = await Promise.all([query.data(), key.data()]);
          layers.push({
            layer,
            query: q as Float32Array,
            key: k as Float32Array,
            shape: query.shape as [number, number, number],
            causal: block.causal,
          });
        } finally {
          tf.dispose([query, key]);
        }
      }
    } finally {
      tf.dispose(inputs);
    }
  } finally {
    disposeBatch(batch);
  }
  return layers;
}
