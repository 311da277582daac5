import * as tf from '@tensorflow/tfjs-core';

/** tfjs-backend-cpu's `MathBackendCPU`: `readSync` hands out the backend's own array. */
interface CpuBackend {
  readSync(dataId: object): ArrayLike<number>;
}

/** tfjs-backend-wasm's `BackendWasm`: a view of the module's heap. */
interface WasmBackend {
  typedArrayFromHeap(info: tf.Tensor): ArrayLike<number>;
}

/**
 * A zero-copy view of a tensor's values on the backends that keep them in host memory, null
 * elsewhere (a GPU read would stall the pipeline). Both backends first fetch a tensor that
 * lives on another backend, an allocation that may grow the wasm heap and detach older views.
 */
export function hostView(x: tf.Tensor): ArrayLike<number> | null {
  if (x.size === 0) return new Float32Array(0);
  const backend = tf.getBackend();
  if (backend === 'cpu') return (tf.backend() as unknown as CpuBackend).readSync(x.dataId);
  if (backend === 'wasm') return (tf.backend() as unknown as WasmBackend).typedArrayFromHeap(x);
  return null;
}
