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

/** Where every shipped char LM's metrics were measured. */
const MOBY_DICK_TEST_SPLIT = 'Metrics: the test split (last 5 % of the book).';

/**
 * The softmax-attention twin of the EA char LM `ea`: the same model, data, schedule and seed
 * with softmax attention, whose block (`sameBlock`, e.g. "same block with short convolutions")
 * the description names.
 */
function softmaxTwin(
  name: string,
  ea: string,
  sameBlock: string | null,
  metrics: Record<string, number>,
): PretrainedEntry {
  const same = sameBlock === null ? '' : `${sameBlock}, `;
  return {
    name,
    task: 'char-lm',
    description: `The softmax-attention twin of ${ea} (${same}same size, data, schedule and seed; only the attention differs), trained on Moby-Dick. ${MOBY_DICK_TEST_SPLIT}`,
    metrics,
  };
}

export const PRETRAINED: readonly PretrainedEntry[] = [
  {
    name: 'char-lm-moby-dick-ea6-g8-conv',
    task: 'char-lm',
    description: `The recommended EA char LM: element-wise attention of Taylor order 6 whose similarity is shared by groups of 8 channels (groupSize 8), so it looks tokens up by content, with a short causal convolution (kernel 4) on q, k and v, trained on Moby-Dick: 623,706 parameters, dModel 128, 3 Post-LN blocks, context 128; 1000 steps × 16 × 128 characters on tfjs wasm. Generation is a constant-cost recurrent step. ${MOBY_DICK_TEST_SPLIT}`,
    metrics: { bitsPerChar: 2.2845, loss: 1.5835, nextCharAccuracy: 0.5208, parameters: 623706 },
  },
  softmaxTwin(
    'char-lm-moby-dick-softmax-conv',
    'char-lm-moby-dick-ea6-g8-conv',
    'same block with short convolutions',
    { bitsPerChar: 2.3072, loss: 1.5992, nextCharAccuracy: 0.5165, parameters: 623706 },
  ),
  {
    name: 'char-lm-moby-dick-ea6-conv-gate',
    task: 'char-lm',
    description: `EA char LM with the per-channel similarity of the paper: element-wise attention of Taylor order 6 with a short causal convolution (kernel 4) on q, k and v and an output gate, trained on Moby-Dick: 673,242 parameters, dModel 128, 3 Post-LN blocks, context 128; 1000 steps × 16 × 128 characters on tfjs wasm. The lowest bits/char of the shipped models, but it does not look tokens up by content. Generation is a constant-cost recurrent step. ${MOBY_DICK_TEST_SPLIT}`,
    metrics: { bitsPerChar: 2.2215, loss: 1.5398, nextCharAccuracy: 0.5323, parameters: 673242 },
  },
  softmaxTwin(
    'char-lm-moby-dick-softmax-conv-gate',
    'char-lm-moby-dick-ea6-conv-gate',
    'same block with short convolutions and output gate',
    { bitsPerChar: 2.2679, loss: 1.572, nextCharAccuracy: 0.5256, parameters: 673242 },
  ),
  {
    name: 'char-lm-moby-dick-ea6',
    task: 'char-lm',
    description: `The paper-pure EA char LM (plain projections, no convolution or gate), for comparison: element-wise attention, Taylor order 6 (EA-6), trained on Moby-Dick: 617,946 parameters, dModel 128, 3 Post-LN blocks, context 128; 1000 steps × 16 × 128 characters on tfjs wasm. ${MOBY_DICK_TEST_SPLIT}`,
    metrics: { bitsPerChar: 2.7825, loss: 1.9287, nextCharAccuracy: 0.4282, parameters: 617946 },
  },
  softmaxTwin('char-lm-moby-dick-softmax', 'char-lm-moby-dick-ea6', null, {
    bitsPerChar: 2.325,
    loss: 1.6116,
    nextCharAccuracy: 0.512,
    parameters: 617946,
  }),
];
