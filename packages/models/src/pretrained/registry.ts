/**
 * Models shipped with the package, in `pretrained/<name>/` (model.json + weights.bin) beside
 * `dist/`. Each entry's metrics were measured on the named data when the weights were trained.
 */
export interface PretrainedEntry {
  /** Directory name under `pretrained/`. */
  name: string;
  task: 'char-lm' | 'sequence-classifier' | 'forecaster';
  description: string;
  /** Held-out metrics, e.g. `{ bitsPerChar: 2.1 }`. */
  metrics: Record<string, number>;
}

export const PRETRAINED: readonly PretrainedEntry[] = [
  {
    name: 'char-lm-moby-dick-ea6',
    task: 'char-lm',
    description:
      'Character-level LM with element-wise attention, Taylor order 6 (EA-6), trained on Moby-Dick: 617,946 parameters, dModel 128, 3 Post-LN blocks, context 128; 1000 steps × 16 × 128 characters on tfjs wasm. Metrics: the test split (last 5 % of the book).',
    metrics: { bitsPerChar: 2.7825, loss: 1.9287, nextCharAccuracy: 0.4282, parameters: 617946 },
  },
  {
    name: 'char-lm-moby-dick-softmax',
    task: 'char-lm',
    description:
      'The softmax-attention twin of char-lm-moby-dick-ea6 (same size, data, schedule and seed; only the attention differs), trained on Moby-Dick. Metrics: the test split (last 5 % of the book).',
    metrics: { bitsPerChar: 2.325, loss: 1.6116, nextCharAccuracy: 0.512, parameters: 617946 },
  },
];
