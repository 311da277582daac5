import '@tensorflow/tfjs-backend-wasm';
import '@elementwise/backend-cpu'; // fused EA kernels for tfjs cpu and wasm
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CharLM,
  createModel,
  evaluate,
  loadModel,
  saveModel,
  train,
} from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';

await tf.setBackend('wasm');
const text =
  'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(50);

// 1. Create: a causal char LM with EA-6 attention. Its softmax twin is attention: {kind: 'softmax'}.
const model = createModel(
  {
    task: 'char-lm',
    vocabulary: [...new Set(text)].join(''),
    dModel: 32,
    numHeads: 4,
    numLayers: 2,
    maxLength: 64,
    attention: { kind: 'ea', order: 6 },
  },
  { seed: 1 },
);

// 2. Train: AdamW, warm-up + cosine decay, clipping, validation and early stopping.
const data = {
  train: { kind: 'text', text: text.slice(0, 3200) },
  validation: { kind: 'text', text: text.slice(3200) },
} as const;
const { best } = await train(model, data, {
  steps: 60,
  batchSize: 8,
  learningRate: 3e-3,
  warmupSteps: 10,
  weightDecay: 0.01,
  clipNorm: 1,
  evalEvery: 20,
  earlyStopping: { patience: 3 },
  seed: 1,
  onProgress: ({ step, loss }) =>
    step % 20 === 0 && console.log(`step ${step} loss ${loss.toFixed(3)}`),
});
console.log('best validation', best, await evaluate(model, data.validation));

// 3. Save and load: model.json + weights.bin (any tfjs URL or IOHandler works too).
const directory = `file://${join(mkdtempSync(join(tmpdir(), 'char-lm-')), 'model')}`;
await saveModel(model, directory);
const loaded = (await loadModel(directory)) as CharLM;

// 4. Generate: parallel prefill of the prompt, then one recurrent EA step per character.
let sample = '';
for await (const char of loaded.generate('It was the ', {
  maxTokens: 40,
  temperature: 0.7,
  seed: 1,
})) {
  sample += char;
}
console.log(JSON.stringify(sample));
model.dispose();
loaded.dispose();
