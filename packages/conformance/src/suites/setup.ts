import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { read } from '../compare.js';
import type { Kit } from '../kit.js';
import { KERNEL_NAMES } from '../kit.js';
import { heapOutputPoisoner } from '../poison.js';

/** What the run is made of: the adapter's kernels are there, and poisoning works. */
export function setupSuite(kit: Kit): void {
  describe('setup', () => {
    kit.test('the fused kernels the adapter expects are registered', () => {
      const missing = kit.options.expectFused.filter((form) => !kit.fused[form]);
      expect(
        missing.map((form) => KERNEL_NAMES[form]),
        `kernels not registered for backend '${kit.backend}'`,
      ).toEqual([]);
    });

    kit.test('fresh output buffers are poisoned with NaN', async (context) => {
      if (kit.poisoning !== heapOutputPoisoner.description) {
        context.skip(`the built-in poisoner is not active; output poisoning: ${kit.poisoning}`);
      }
      const backend = tf.engine().backend as unknown as {
        makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
      };
      const info = backend.makeOutput([7], 'float32');
      const tensor = tf.engine().makeTensorFromTensorInfo(info);
      const values = await read(tensor);
      tensor.dispose();
      expect(Array.from(values).every(Number.isNaN), 'a fresh output reads as NaN').toBe(true);
    });
  });
}
