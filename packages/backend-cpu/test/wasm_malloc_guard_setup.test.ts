import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { WasmHeapExhaustedError } from '../src/index.js';
import { useBackend } from './helpers.js';

/**
 * A process that imports this package and runs only tfjs's own kernels on `wasm` (a softmax
 * model, a matMul) is guarded too: the wasm kernels' `setupFunc` installs the malloc guard when
 * `setBackend('wasm')` activates the backend. No element-wise attention kernel runs in this file
 * (and each test file runs in a process of its own).
 */

/** Requests within 64 bytes of 4 GiB are refused by malloc at once, without growing the heap. */
const TOO_MANY_FLOATS = 2 ** 30 - 4;

describe('the malloc guard without any element-wise attention kernel', () => {
  it('importing the package creates no backend (the wasm one is only registered)', () => {
    expect(tf.engine().registry.wasm).toBeUndefined();
    expect(tf.engine().registryFactory.wasm).toBeDefined();
  });

  it('a tfjs op asking for more than the wasm heap can give gets the clear error, and the backend goes on', async () => {
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
    const heapBytes = heap.HEAPU8.buffer.byteLength;
    let error: unknown;
    try {
      tf.fill([TOO_MANY_FLOATS], 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WasmHeapExhaustedError);
    const refused = error as WasmHeapExhaustedError;
    expect(refused.name).toBe('WasmHeapExhaustedError');
    expect(refused.code).toBe('ELEMENTWISE_WASM_HEAP_EXHAUSTED');
    expect(refused.bytes).toBe(4 * TOO_MANY_FLOATS);
    expect(refused.message).toMatch(
      /^tfjs wasm backend: could not allocate 4294967280 bytes on its WebAssembly heap; the heap is at \d+ bytes .*a wasm32 heap cannot exceed 4 GiB/,
    );
    expect(heap.HEAPU8.buffer.byteLength, 'heap not grown').toBe(heapBytes);
    expect(tf.memory().numTensors).toBe(tensors);
    const [product, softmax] = tf.tidy(() => {
      const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
      const b = tf.tensor2d([5, 6, 7, 8], [2, 2]);
      return [tf.matMul(a, b).dataSync(), tf.softmax(tf.tensor1d([0, 0])).dataSync()];
    });
    expect(Array.from(product)).toEqual([19, 22, 43, 50]);
    expect(Array.from(softmax)).toEqual([0.5, 0.5]);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('after another backend and back, the guard is still in place', async () => {
    await useBackend('cpu');
    await useBackend('wasm');
    expect(() => tf.fill([TOO_MANY_FLOATS], 1)).toThrow(WasmHeapExhaustedError);
  });
});
