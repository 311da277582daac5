import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { elementwiseAttentionLayer, multiHeadAttentionLayer } from '../src/index.js';
import { trainSaveLoadPredict } from './story.js';

describe('in Chromium with the @tensorflow/tfjs union package (webgl)', () => {
  it('the tf.sequential story works with elementwiseAttentionLayer and multiHeadAttentionLayer', async () => {
    await tf.ready();
    expect(tf.getBackend()).toBe('webgl');
    expect(elementwiseAttentionLayer()).toBeInstanceOf(tf.layers.Layer);
    await trainSaveLoadPredict(
      tf,
      () => elementwiseAttentionLayer({ order: 6, causal: true }),
      'ElementwiseAttentionLayer',
    );
    await trainSaveLoadPredict(
      tf,
      () => multiHeadAttentionLayer({ numHeads: 2, keyDim: 8, causal: true }),
      'MultiHeadAttentionLayer',
    );
  });
});
