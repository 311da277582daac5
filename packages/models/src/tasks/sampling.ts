import type { SeededRandom } from '../random.js';

export interface GenerateOptions {
  /** Characters to produce. */
  maxTokens: number;
  /** Softmax temperature; 0 picks the most likely character. Default 1. */
  temperature?: number;
  /** Sample among the k most likely characters only. Default: all. */
  topK?: number;
  /** Seed of the sampler: the same seed, prompt and weights give the same text. */
  seed?: number;
}

/**
 * Draws a token id from logits over [unknown, vocabulary...], never the unknown id 0:
 * arg-max at temperature 0, else softmax(logits / temperature) restricted to the topK largest.
 */
export function sampleToken(
  logits: Float32Array,
  options: { temperature: number; topK?: number; random: SeededRandom },
): number {
  const candidates: number[] = [];
  for (let id = 1; id < logits.length; id++) candidates.push(id);
  candidates.sort((a, b) => logits[b] - logits[a] || a - b);
  if (options.temperature === 0) return candidates[0];
  const kept = candidates.slice(0, options.topK ?? candidates.length);
  const top = logits[kept[0]];
  const weights = kept.map((id) => Math.exp((logits[id] - top) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let threshold = options.random.next() * total;
  for (let i = 0; i < kept.length; i++) {
    threshold -= weights[i];
    if (threshold < 0) return kept[i];
  }
  return kept[kept.length - 1];
}
