import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

/**
 * The package imported after the tfjs `wasm` backend already runs (and already holds tensors):
 * importing it guards that backend at once, though no element-wise attention kernel ever runs
 * (each test file runs in a process of its own).
 */

const TOO_MANY_FLOATS = 2 ** 30 - 4;

describe('the malloc guard when the package is imported late', () => {
  it('guards a wasm backend that was running before the import', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const early = tf.tensor1d([1, 2, 3]);
    const { WasmHeapExhaustedError } = await import('../src/index.js');
    const tensors = tf.memory().numTensors;
    expect(() => tf.fill([TOO_MANY_FLOATS], 1)).toThrow(WasmHeapExhaustedError);
    expect(() => tf.fill([TOO_MANY_FLOATS], 1)).toThrow(
      /^tfjs wasm backend: could not allocate 4294967280 bytes on its WebAssembly heap; the heap is at \d+ bytes/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Array.from(tf.tidy(() => tf.add(early, 1).dataSync()))).toEqual([2, 3, 4]);
    early.dispose();
  });
});
