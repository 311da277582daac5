import { elementwiseAttention } from '@elementwise/attention';
import { randomNormal } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmHeap } from '../src/wasm_heap.js';
import { guardMalloc, type MallocModule } from '../src/wasm_malloc_guard.js';
import { useBackend } from './helpers.js';

/**
 * tfjs-backend-wasm never checks malloc's result, so an allocation that fails would register a
 * tensor at address 0 and whatever fills it would overwrite the start of the heap. The guard
 * makes the allocation throw instead, and the kernels refuse tensors found at address 0.
 */

const HEAP_MESSAGE =
  /a wasm32 heap cannot exceed 4 GiB \(4294967296 bytes\)\. Reduce what is held at once: the batch size, the sequence length \(context\), the model size/;

describe('the malloc guard (a module described structurally)', () => {
  const memory = new WebAssembly.Memory({ initial: 2 });

  it('throws, naming the bytes, the heap size and its limit, when malloc returns 0', () => {
    const module: MallocModule = { asm: { malloc: () => 0 } };
    expect(guardMalloc(module, memory)).toBe(true);
    expect(() => module._malloc?.(1234)).toThrow(
      /^tfjs wasm backend: could not allocate 1234 bytes on its WebAssembly heap; the heap is at 131072 bytes/,
    );
    expect(() => module._malloc?.(1234)).toThrow(HEAP_MESSAGE);
    // malloc(0) may return 0: nothing is to be written there.
    expect(module._malloc?.(0)).toBe(0);
  });

  it('passes addresses through, unsigned past 2 GiB', () => {
    const module: MallocModule = { asm: { malloc: (bytes: number) => (bytes === 8 ? 64 : -16) } };
    guardMalloc(module, memory);
    expect(module._malloc?.(8)).toBe(64);
    expect(module._malloc?.(16)).toBe(2 ** 32 - 16);
  });

  it('stays in place when emscripten`s lazy `_malloc` stub would replace itself', () => {
    const module: MallocModule & { asm: { malloc: (bytes: number) => number } } = {
      asm: { malloc: () => 0 },
    };
    module._malloc = (bytes: number) => {
      module._malloc = module.asm.malloc;
      return module.asm.malloc(bytes);
    };
    guardMalloc(module, memory);
    const guard = module._malloc;
    expect(() => module._malloc?.(4)).toThrow(/could not allocate 4 bytes/);
    expect(module._malloc).toBe(guard);
    expect(guardMalloc(module, memory), 'installing again').toBe(true);
    expect(module._malloc, 'not wrapped twice').toBe(guard);
  });
});

describe('on the tfjs wasm backend', () => {
  const attention = (q: tf.Tensor3D) =>
    tf.tidy(() => {
      const [batch, length, channels] = q.shape;
      const k = tf.tensor3d(randomNormal(batch * length * channels, 2), q.shape);
      const v = tf.tensor3d(randomNormal(batch * length * channels, 3), q.shape);
      return elementwiseAttention(q, k, v, { order: 2, causal: true });
    });
  let module: { _malloc: (bytes: number) => number };

  beforeAll(async () => {
    // Activating the backend installs the guard (the wasm kernels' setupFunc); a first kernel
    // call meets the backend too.
    await useBackend('wasm');
    const q = tf.tensor3d(randomNormal(2 * 3 * 4, 1), [2, 3, 4]);
    attention(q).dispose();
    q.dispose();
    module = (tf.backend() as unknown as { wasm: typeof module }).wasm;
  });

  it('a tensor allocation the heap cannot hold throws the clear error, and the backend goes on', () => {
    const heap = wasmHeap();
    expect(heap).not.toBeNull();
    const heapBytes = heap?.memory.buffer.byteLength;
    const tensors = tf.memory().numTensors;
    // Requests within 64 bytes of 4 GiB are refused by malloc at once, without growing the heap.
    expect(() => module._malloc(2 ** 32 - 16)).toThrow(HEAP_MESSAGE);
    expect(() => tf.zeros([2 ** 30 - 4])).toThrow(
      /^tfjs wasm backend: could not allocate 4294967280 bytes on its WebAssembly heap; the heap is at \d+ bytes/,
    );
    expect(heap?.memory.buffer.byteLength, 'heap not grown').toBe(heapBytes);
    expect(tf.memory().numTensors).toBe(tensors);
    const product = tf.tidy(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync(),
    );
    expect(Array.from(product)).toEqual([19, 22, 43, 50]);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('the kernels refuse an input at address 0 (what an unchecked failed malloc gives)', () => {
    const backend = tf.backend() as unknown as {
      makeOutput(shape: number[], dtype: 'float32', memoryOffset: number): tf.TensorInfo;
    };
    const tensors = tf.memory().numTensors;
    const info = backend.makeOutput([2, 3, 4], 'float32', 0);
    const atZero = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor3D;
    expect(() => attention(atZero)).toThrow(
      /^ElementwiseAttentionForward: input q \(24 values\) lies at address 0 of the tfjs wasm heap.*The tfjs wasm backend is out of memory: the heap is at \d+ bytes/,
    );
    atZero.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
