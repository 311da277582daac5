import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SeededRandom } from '../random.js';

/**
 * Draws a new network's random weights from `seed`, so that the same config and seed give the
 * same model on every backend (tfjs's initializers draw from an unseeded generator). Linear
 * kernels: Glorot uniform; short-convolution kernels: uniform in ±1/√k; token embeddings:
 * normal with sd 1; learned positions: normal with sd 0.1. Biases, gains and the time
 * embedding's frequencies keep the deterministic values their layers start from.
 */
export function initializeWeights(network: tfl.LayersModel, seed: number): void {
  const random = new SeededRandom(seed);
  for (const weight of network.weights) {
    const name = weight.originalName;
    const shape = weight.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (name.endsWith('_conv/kernel')) {
      const limit = 1 / Math.sqrt(shape[0]);
      for (let i = 0; i < size; i++) values[i] = (2 * random.next() - 1) * limit;
    } else if (name.endsWith('/kernel')) {
      const limit = Math.sqrt(6 / (shape[0] + shape[shape.length - 1]));
      for (let i = 0; i < size; i++) values[i] = (2 * random.next() - 1) * limit;
    } else if (name === 'token_embedding/embeddings') {
      for (let i = 0; i < size; i++) values[i] = random.nextNormal();
    } else if (name === 'positional/embeddings') {
      for (let i = 0; i < size; i++) values[i] = random.nextNormal() * 0.1;
    } else {
      continue;
    }
    tf.tidy(() => {
      weight.write(tf.tensor(values, shape, 'float32'));
    });
  }
}

/**
 * Whether AdamW's decoupled weight decay applies to a weight: to the matrices of linear maps
 * and convolutions, never to biases, norm gains or embeddings.
 */
export function decays(weightName: string): boolean {
  return weightName.endsWith('/kernel');
}
