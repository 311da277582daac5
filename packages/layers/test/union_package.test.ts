import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { elementwiseAttentionLayer, multiHeadAttentionLayer } from '../src/index.js';
import { trainSaveLoadPredict } from './story.js';

/**
 * The user story with the `@tensorflow/tfjs` union package, the way most tfjs users import it:
 * our layers register on the same tfjs-core and subclass the same tfjs-layers `Layer`.
 */
describe('with the @tensorflow/tfjs union package', () => {
  it('shares one engine and one Layer class with @elementwise/layers', async () => {
    await tf.ready();
    expect(tf.getBackend()).toBe('cpu');
    expect(elementwiseAttentionLayer({ order: 6 })).toBeInstanceOf(tf.layers.Layer);
  });

  it('tf.sequential of embedding, elementwiseAttentionLayer and dense fits, saves, loads and predicts identically', async () => {
    await trainSaveLoadPredict(
      tf,
      () => elementwiseAttentionLayer({ order: 6, causal: true }),
      'ElementwiseAttentionLayer',
    );
  });

  it('the same with multiHeadAttentionLayer', async () => {
    await trainSaveLoadPredict(
      tf,
      () => multiHeadAttentionLayer({ numHeads: 2, keyDim: 8, causal: true }),
      'MultiHeadAttentionLayer',
    );
  });
});
