import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import { webglRenderer } from '../src/index.js';

/**
 * Makes `webgl` the active backend (throwing when it cannot start) and prints the device that
 * runs the tests, so a test log shows which renderer produced the numbers.
 */
export async function useWebGL(): Promise<MathBackendWebGL> {
  if (!(await tf.setBackend('webgl'))) {
    throw new Error('the tfjs webgl backend failed to initialise in this browser');
  }
  await tf.ready();
  const backend = tf.backend() as MathBackendWebGL;
  console.log(
    `WebGL renderer: ${webglRenderer(backend)}; WEBGL_VERSION ${tf.env().getNumber('WEBGL_VERSION')}, ` +
      `WEBGL_RENDER_FLOAT32_CAPABLE ${tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')}`,
  );
  return backend;
}
