import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect } from 'vitest';

/**
 * WebGPU reports invalid pipelines and bind groups on the device instead of throwing: a broken
 * program would only leave its output unwritten. `watchDeviceErrors()` (at a file's top level)
 * fails the file in `afterAll` when the device reported any error; `start()` activates the
 * webgpu backend and begins listening.
 */
export function watchDeviceErrors(): { start(): Promise<void> } {
  const errors: string[] = [];
  afterAll(() => {
    expect(errors, 'errors reported by the WebGPU device').toEqual([]);
  });
  return {
    async start() {
      if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to start');
      const { device } = tf.backend() as unknown as WebGPUBackend;
      device.addEventListener('uncapturederror', (event) => {
        errors.push((event as GPUUncapturedErrorEvent).error.message);
      });
    },
  };
}
