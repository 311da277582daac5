/**
 * Training and generation speed of a ~0.8 M-parameter char LM, EA-6 vs its softmax twin, on
 * tfjs wasm (and cpu) with the fused kernels of @elementwise/backend-cpu.
 *
 *   pnpm --filter @elementwise/models bench [-- --backend wasm --rounds 4 --steps 2 --batch 16 --length 128 --prompt 95]
 *
 * Reports training tokens/s (batch × length per step) and generation ms/token, each the median
 * over rounds that alternate the two models after a warm-up round; ratios are from the same run.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { type CharLMConfig, createModel, train } from '../src/index.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const backend = option('backend', 'wasm');
const rounds = Number(option('rounds', '4'));
const stepsPerRound = Number(option('steps', '2'));
const warmup = Number(option('warmup', '1'));
const batchSize = Number(option('batch', '16'));
const maxLength = Number(option('length', '128'));
const generated = Number(option('tokens', '32'));
/** Generation is timed after a prompt this long, i.e. at positions prompt .. prompt + tokens. */
const promptLength = Number(option('prompt', String(Math.max(16, maxLength - generated - 2))));

const vocabulary = ' !"\'(),-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\n';
const text = Array.from(
  { length: 20000 },
  (_, i) => vocabulary[(i * 7919 + (i >> 3)) % vocabulary.length],
).join('');

await tf.setBackend(backend);
await tf.ready();
console.log(
  `backend ${tf.getBackend()}, dModel 128, 4 layers, 4 heads, maxLength ${maxLength}, batch ${batchSize}, vocabulary ${vocabulary.length}`,
);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const variants = [
  ['EA-6', { kind: 'ea', order: 6 }],
  ['softmax', { kind: 'softmax' }],
] as const;
const models = variants.map(([label, attention]) => {
  const config: CharLMConfig = {
    task: 'char-lm',
    vocabulary,
    dModel: 128,
    numHeads: 4,
    numLayers: 4,
    maxLength,
    dropout: 0.1,
    attention,
  };
  return {
    label,
    model: createModel(config, { seed: 1 }),
    tokensPerSecond: [] as number[],
    msPerToken: [] as number[],
  };
});

// The machine is shared, so the variants alternate round by round and each reports the median:
// a burst of load then slows both alike instead of one.
for (let round = 0; round < warmup + rounds; round++) {
  for (const entry of models) {
    const { history } = await train(
      entry.model,
      { train: { kind: 'text', text } },
      {
        steps: stepsPerRound,
        batchSize,
        learningRate: 1e-3,
        seed: round,
      },
    );
    const prompt = text.slice(round * 16, round * 16 + promptLength);
    // Timed from the first character (after the parallel prefill) to the last: recurrent steps only.
    let first = 0;
    let count = 0;
    for await (const _ of entry.model.generate(prompt, { maxTokens: generated + 1, seed: round })) {
      if (count++ === 0) first = performance.now();
    }
    const msPerToken = (performance.now() - first) / (count - 1);
    if (round < warmup) continue;
    entry.tokensPerSecond.push(...history.map((e) => e.tokensPerSecond!));
    entry.msPerToken.push(msPerToken);
  }
}

const summary = models.map((entry) => ({
  label: entry.label,
  parameters: entry.model.parameterCount(),
  tokensPerSecond: median(entry.tokensPerSecond),
  msPerToken: median(entry.msPerToken),
}));
for (const s of summary) {
  console.log(
    `${s.label.padEnd(8)} parameters ${s.parameters}, training ${s.tokensPerSecond.toFixed(0)} tokens/s, generation ${s.msPerToken.toFixed(2)} ms/token (median of ${rounds} rounds; recurrent steps at positions ${promptLength + 1}..${promptLength + generated})`,
  );
}
const [ea, softmax] = summary;
console.log(
  `EA-6 / softmax: training ${(ea.tokensPerSecond / softmax.tokensPerSecond).toFixed(2)}x, generation ${(softmax.msPerToken / ea.msPerToken).toFixed(2)}x faster`,
);
for (const entry of models) entry.model.dispose();
