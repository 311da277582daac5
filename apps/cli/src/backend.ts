import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// Registers the fused EA forward, backward and step kernels for 'cpu' and 'wasm'.
import { kernelImplementation } from '@elementwise/backend-cpu';

export const BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface ActiveBackend {
  name: BackendName;
  /** How the fused EA kernels run: `wasm-simd` or `typescript`. */
  eaKernels: string;
}

/** Makes `name` the active tfjs backend (the wasm module loads from the installed package). */
export async function useBackend(name: BackendName): Promise<ActiveBackend> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`--backend ${name}: the tfjs "${name}" backend failed to initialise`);
  }
  await tf.ready();
  return { name, eaKernels: `fused @elementwise/backend-cpu (${kernelImplementation()})` };
}
