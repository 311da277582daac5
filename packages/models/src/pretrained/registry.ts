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

export const PRETRAINED: readonly PretrainedEntry[] = [];
