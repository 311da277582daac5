import * as tf from '@tensorflow/tfjs-core';
import { coreGradConfigs } from './generated/core_gradients.js';

/**
 * Makes tfjs-core's own gradients available wherever they are missing — in Node, tfjs-core's
 * CommonJS entry registers none unless the full `@tensorflow/tfjs` is loaded — so `tf.grad`
 * through a model that uses this package (MatMul, Add, ...) works without extra imports.
 * Gradients already registered (by `@tensorflow/tfjs` or by the application) are left alone.
 */
for (const config of coreGradConfigs) {
  if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
}
