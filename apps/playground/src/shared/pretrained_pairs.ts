/**
 * The pretrained char LMs the playground shows, as EA model and softmax twin (same block, size,
 * data and seed; only the attention differs). The build copies exactly these models' files from
 * `@elementwise/models/pretrained/` into `dist/pretrained/`, so this list is also what a static
 * host serves.
 */
export interface PretrainedPair {
  /** Shown in the page. */
  label: string;
  ea: string;
  softmax: string;
}

export const PRETRAINED_PAIRS: readonly PretrainedPair[] = [
  {
    label: 'EA-6, groups of 8, short convolution (recommended)',
    ea: 'char-lm-moby-dick-ea6-g8-conv',
    softmax: 'char-lm-moby-dick-softmax-conv',
  },
  {
    label: 'EA-6 per channel, paper block',
    ea: 'char-lm-moby-dick-ea6',
    softmax: 'char-lm-moby-dick-softmax',
  },
];

/** Every model name the pairs use, each once. */
export function pretrainedModelNames(): string[] {
  return [...new Set(PRETRAINED_PAIRS.flatMap((pair) => [pair.ea, pair.softmax]))];
}

/** Files of one shipped model, relative to its folder. */
export const PRETRAINED_FILES = ['model.json', 'weights.bin'] as const;
