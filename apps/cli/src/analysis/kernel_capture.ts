import { ElementwiseAttentionForward } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';

export interface CapturedAttentionInputs {
  q: Float32Array;
  k: Float32Array;
  qShape: number[];
  kShape: number[];
  causal: boolean;
}

interface BackendWithReadSync {
  readSync(dataId: object): tf.backend_util.BackendValues;
}

/**
 * Runs `work` while the active backend's EA forward kernel copies each call's q and k (the
 * values the EA op receives, after projections and any q/k normalisation) before computing as
 * usual; the original kernel is registered again afterwards. Calls are returned in order, so
 * for a model forward pass call i is block i.
 */
export async function captureAttentionInputs(
  work: () => Promise<void>,
): Promise<CapturedAttentionInputs[]> {
  const backendName = tf.getBackend();
  const original = tf.getKernel(ElementwiseAttentionForward, backendName);
  if (!original) {
    throw new Error(
      `no fused ${ElementwiseAttentionForward} kernel is registered for the "${backendName}" backend (import @elementwise/backend-cpu)`,
    );
  }
  const captured: CapturedAttentionInputs[] = [];
  tf.unregisterKernel(ElementwiseAttentionForward, backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { q, k } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo };
      const backend = args.backend as unknown as BackendWithReadSync;
      captured.push({
        q: Float32Array.from(backend.readSync(q.dataId) as Float32Array),
        k: Float32Array.from(backend.readSync(k.dataId) as Float32Array),
        qShape: [...q.shape],
        kShape: [...k.shape],
        causal: Boolean((args.attrs as { causal?: boolean }).causal),
      });
      return original.kernelFunc(args);
    },
  });
  try {
    await work();
  } finally {
    tf.unregisterKernel(ElementwiseAttentionForward, backendName);
    tf.registerKernel(original);
  }
  return captured;
}
