import * as tf from '@tensorflow/tfjs-core';

export type Computation = () => tf.Tensor | tf.Tensor[];

declare const gc: (() => void) | undefined;

/**
 * Collects garbage between measurements when node runs with --expose-gc, so that a GC pause
 * left over from one measurement does not land in the next.
 */
export function collectGarbage(): void {
  if (typeof gc === 'function') gc();
}

/**
 * Wall time of one call in ms, until its results are readable: tfjs may return before the work is
 * done on asynchronous backends, so the clock stops only after every output's data is read.
 */
export async function timeOnce(computation: Computation): Promise<number> {
  const start = performance.now();
  const out = computation();
  const outputs = Array.isArray(out) ? out : [out];
  await Promise.all(outputs.map((t) => t.data()));
  const elapsed = performance.now() - start;
  tf.dispose(outputs);
  return elapsed;
}

export interface Timing {
  medianMs: number;
  samplesMs: number[];
}

/**
 * Times several computations in interleaved rounds (A B C, A B C, ...) and returns each one's
 * median. Interleaving spreads any background load over all of them alike, so their ratios
 * stay meaningful on a shared machine even when absolute times drift.
 */
export async function timeInterleaved(
  computations: Computation[],
  rounds: number,
): Promise<Timing[]> {
  const samples: number[][] = computations.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, computation] of computations.entries()) {
      collectGarbage();
      samples[index].push(await timeOnce(computation));
    }
  }
  return samples.map((samplesMs) => ({ medianMs: median(samplesMs), samplesMs }));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Peak tensor memory of one call in bytes, above what was allocated before it (inputs and
 * anything cached earlier are not counted). tfjs samples the total after every kernel, nested
 * ones included, so intermediates that live inside a composite op are seen. Run apart from the
 * timed calls: profiling records every kernel and would distort their times.
 */
export async function peakBytes(computation: Computation): Promise<number> {
  collectGarbage();
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const out = computation();
    const outputs = Array.isArray(out) ? out : [out];
    for (const t of outputs) t.dataSync();
    return outputs;
  });
  tf.dispose(info.result as tf.Tensor[]);
  return info.peakBytes - before;
}
