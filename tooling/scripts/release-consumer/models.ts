// A user of @elementwise/models, as published: create an EA char LM and its softmax twin, train a
// few steps on tfjs `wasm` with the fused kernels of @elementwise/backend-cpu, save to disk, load
// back with identical logits, generate; and load every shipped pretrained model from the
// installed package, which proves the weights are in the tarball.
import '@elementwise/backend-cpu';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CharLM,
  createModel,
  fromPretrained,
  listPretrained,
  loadModel,
  saveModel,
  train,
} from '@elementwise/models';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { checkerFor } from './support/check.js';

const check = checkerFor('@elementwise/models');

async function generateText(model: CharLM, prompt: string, maxTokens: number): Promise<string> {
  let text = '';
  for await (const char of model.generate(prompt, { maxTokens, temperature: 0.8, seed: 3 })) {
    text += char;
  }
  return text;
}

await tf.setBackend('wasm');
const text = 'Call me Ishmael. Some years ago, never mind how long precisely. '.repeat(40);
for (const attention of [{ kind: 'ea', order: 6 }, { kind: 'softmax' }] as const) {
  const name = attention.kind === 'ea' ? 'EA-6' : 'softmax';
  const before = tf.memory().numTensors;
  const model = createModel(
    {
      task: 'char-lm',
      vocabulary: [...new Set(text)].join(''),
      dModel: 16,
      numHeads: 2,
      numLayers: 1,
      maxLength: 32,
      attention,
    },
    { seed: 5 },
  ) as CharLM;
  const { history } = await train(
    model,
    { train: { kind: 'text', text } },
    { steps: 30, batchSize: 8, learningRate: 1e-2, seed: 5 },
  );
  const first = history[0].loss;
  const last = history.at(-1)?.loss ?? Number.NaN;
  check(last < first, `${name}: training loss did not fall (${first} -> ${last})`);

  const directory = `file://${join(mkdtempSync(join(tmpdir(), 'ew-models-')), 'model')}`;
  await saveModel(model, directory);
  const loaded = (await loadModel(directory)) as CharLM;
  const ids = tf.tensor2d(Array.from(model.encode('Call me Ishmael.')), [1, 16], 'int32');
  const [a, b] = [model.logits(ids), loaded.logits(ids)];
  const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  tf.dispose([ids, a, b]);
  check(difference === 0, `${name}: loaded logits differ from the saved model's by ${difference}`);
  const sample = await generateText(loaded, 'Call me ', 20);
  check(sample.length === 20, `${name}: generated ${sample.length} characters, expected 20`);
  model.dispose();
  loaded.dispose();
  check(tf.memory().numTensors === before, `${name}: tensors leaked`);
  console.log(
    `${name}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, sample ${JSON.stringify(sample)}`,
  );
}

for (const entry of listPretrained()) {
  const model = await fromPretrained(entry.name);
  check(
    model.task === entry.task,
    `${entry.name}: task ${model.task}, registry says ${entry.task}`,
  );
  if (model.task === 'char-lm') {
    const sample = await generateText(model as CharLM, 'The whale ', 30);
    check(
      sample.length === 30,
      `${entry.name}: generated ${sample.length} characters, expected 30`,
    );
    console.log(`${entry.name}: ${JSON.stringify(sample)}`);
  } else {
    console.log(`${entry.name}: loaded (${model.task})`);
  }
  model.dispose();
}
console.log('ok');
