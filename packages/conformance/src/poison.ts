import type * as tf from '@tensorflow/tfjs-core';

/**
 * Pre-fills freshly allocated output buffers with NaN, so that an output element a kernel never
 * writes reads back as NaN and fails the comparison (instead of whatever a previous tensor left
 * in reused memory, which can by chance be the right answer).
 */
export interface OutputPoisoner {
  /** What gets poisoned, for the report printed before the suite runs. */
  readonly description: string;
  /** Starts poisoning fresh outputs of `backend`; returns a function that stops it. */
  install(backend: tf.KernelBackend): () => void;
}

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** The allocation interface of tfjs's `wasm` backend (`BackendWasm`). */
interface HeapBackend {
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): HeapArray;
}

function isHeapBackend(backend: unknown): backend is HeapBackend {
  const candidate = backend as Partial<HeapBackend> | null;
  return (
    typeof candidate?.makeOutput === 'function' &&
    typeof candidate?.typedArrayFromHeap === 'function'
  );
}

/**
 * For tfjs `wasm` (and any backend with its `makeOutput` / `typedArrayFromHeap` pair): wraps
 * `backend.makeOutput` so that a float32 output it allocates on the WASM heap is filled with NaN
 * before it is handed to the kernel. Outputs made from values, or at a memory offset the kernel
 * allocated itself, are left alone.
 */
export const heapOutputPoisoner: OutputPoisoner = {
  description:
    'float32 outputs allocated by backend.makeOutput are filled with NaN before the kernel writes',
  install(backend) {
    if (!isHeapBackend(backend)) {
      throw new Error('heapOutputPoisoner needs a backend with makeOutput and typedArrayFromHeap');
    }
    const target: HeapBackend = backend;
    const hadOwn = Object.hasOwn(target, 'makeOutput');
    const original = target.makeOutput;
    target.makeOutput = function poisonedMakeOutput(shape, dtype, memoryOffset, values) {
      const info = original.call(this, shape, dtype, memoryOffset, values);
      if (memoryOffset == null && values == null && dtype === 'float32') {
        target.typedArrayFromHeap(info).fill(Number.NaN);
      }
      return info;
    };
    return () => {
      if (hadOwn) target.makeOutput = original;
      else delete (target as Partial<HeapBackend>).makeOutput;
    };
  },
};

/** What the kit does by default for a backend instance, and why. */
export function defaultPoisoner(backend: tf.KernelBackend): {
  poisoner?: OutputPoisoner;
  reason: string;
} {
  if (isHeapBackend(backend)) return { poisoner: heapOutputPoisoner, reason: '' };
  if (typeof (backend as { readSync?: unknown }).readSync === 'function' && 'data' in backend) {
    return {
      reason:
        "none: cpu kernels create their own output arrays, out of the kit's reach (JavaScript " +
        'zero-fills them, so an unwritten element reads as 0)',
    };
  }
  return {
    reason:
      'none: the kit knows no allocator hook for this backend (pass poisonOutputs to add one)',
  };
}
