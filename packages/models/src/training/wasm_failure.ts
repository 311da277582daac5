import * as tf from '@tensorflow/tfjs-core';

/**
 * What a failure of the tfjs `wasm` backend means, said to the person who hit it.
 *
 * tfjs-backend-wasm keeps every tensor in one WebAssembly memory, which cannot grow past 4 GiB.
 * When an allocation inside one of its kernels fails there (XNNPACK's matMul workspace, say),
 * the emscripten module calls `abort()`: a `WebAssembly.RuntimeError` "Aborted()". The module
 * is dead from then on, so every later call into it (disposing a tensor included) traps with
 * "memory access out of bounds". Both errors say nothing of the cause; this names it, the shape
 * of the work that failed, and what to reduce.
 *
 * An allocation that fails on the JavaScript side (a tensor's memory) is refused earlier, by the
 * malloc guard of `@elementwise/backend-cpu`, with an error that already names the heap and what
 * to reduce; the backend stays usable then. Its message gets the shape of the work added. This
 * package does not depend on that one, so the error is recognised by the stable identity that
 * package documents for it (its `WasmHeapExhaustedError`: `name` and `code`), never by its text.
 */

const FAILURE = /Aborted\(|memory access out of bounds/;
const HEAP_LIMIT = 2 ** 32;

/** `name` and `code` of `@elementwise/backend-cpu`'s `WasmHeapExhaustedError`. */
const HEAP_EXHAUSTED = { name: 'WasmHeapExhaustedError', code: 'ELEMENTWISE_WASM_HEAP_EXHAUSTED' };

/** Whether `error` is an allocation refused by `@elementwise/backend-cpu`'s malloc guard. */
export function isRefusedWasmAllocation(error: unknown): error is Error {
  return (
    error instanceof Error &&
    error.name === HEAP_EXHAUSTED.name &&
    (error as { code?: unknown }).code === HEAP_EXHAUSTED.code
  );
}

/** Whether `error` is the wasm backend's abort (or the trap of a call after it). */
export function isWasmBackendFailure(error: unknown): error is WebAssembly.RuntimeError {
  return (
    error instanceof WebAssembly.RuntimeError &&
    FAILURE.test(error.message) &&
    tf.getBackend() === 'wasm'
  );
}

/** The wasm backend's heap size in bytes, where its module can be reached; else undefined. */
function heapBytes(): number | undefined {
  const backend = tf.backend() as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength;
}

export interface FailedWork {
  /** The function that failed, for the start of the message: `train`, `evaluate`, … */
  where: string;
  /** What ran, e.g. `training step 3 (batch 4 × context 2048)`. */
  during: string;
  config: { dModel: number; numLayers: number };
  /** What to make smaller, e.g. `batchSize, maxLength (the context) or dModel`. */
  reduce: string;
  /** Another way to need less memory, as a sentence, e.g. training with `recompute: true`. */
  alternative?: string;
}

/**
 * An Error explaining `error` when it is the tfjs wasm backend's abort, or an allocation refused
 * by the malloc guard (its `cause` is the original); any other error is returned unchanged.
 */
export function explainWasmFailure(error: unknown, work: FailedWork): unknown {
  const { dModel, numLayers } = work.config;
  const shape = `${work.during} at dModel ${dModel}, ${numLayers} layers`;
  const alternative = work.alternative === undefined ? '' : ` ${work.alternative}`;
  if (isRefusedWasmAllocation(error)) {
    return new Error(
      `${work.where}: out of memory during ${shape}: ${error.message}${alternative} The ` +
        'allocation was refused before anything was written, so the wasm backend stays usable.',
      { cause: error },
    );
  }
  if (!isWasmBackendFailure(error)) return error;
  const heap = heapBytes();
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  const cause =
    heap === undefined
      ? 'most likely out of its 4 GiB heap'
      : heap >= 0.75 * HEAP_LIMIT
        ? `out of its 4 GiB heap (the heap is at ${heap} bytes, ${gib(heap)})`
        : `most likely out of its 4 GiB heap (the heap is at ${heap} bytes, ${gib(heap)})`;
  return new Error(
    `${work.where}: the tfjs wasm backend failed (${error.message.split('\n')[0]}) during ` +
      `${shape}: ${cause}. tfjs-backend-wasm ` +
      'aborts for good after such a failure, so the wasm backend can no longer be used in this ' +
      `process. Reduce ${work.reduce}, then start a new process (or use another backend).` +
      alternative,
    { cause: error },
  );
}
