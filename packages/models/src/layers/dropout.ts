import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from './context.js';

/** Inverted dropout, seeded from the context so that a training run is reproducible. */
export function dropout(x: tf.Tensor, rate: number, context: ForwardContext): tf.Tensor {
  if (!context.training || rate === 0) return x;
  if (!context.random) throw new Error('dropout: a training forward pass needs a seeded random');
  return tf.dropout(x, rate, undefined, context.random.nextUint32());
}
