import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export const BENCH_BACKENDS = ['cpu', 'wasm'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/**
 * Production mode (no debug checks, no console banner) and no per-kernel NaN scan: profiling
 * would otherwise copy every kernel output back to JS just to look for NaNs.
 */
export function configureTfjs(): void {
  tf.enableProdMode();
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
}

/** Activates a backend; false (not an exception) when it cannot initialise here. */
export async function useBackend(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

export function isBenchBackend(name: string): name is BenchBackend {
  return (BENCH_BACKENDS as readonly string[]).includes(name);
}
