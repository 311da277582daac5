// Generates text in Node from a char LM that elementwise_torch exported (or any model folder
// that @elementwise/models saved): node examples/generate.mjs DIR PROMPT [MAX_TOKENS]
// The prompt is prefilled in parallel, then every character is one recurrent EA step.
import '@tensorflow/tfjs-backend-cpu';
import { resolve } from 'node:path';
import { loadModel } from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';

const [directory, prompt, maxTokens = '200'] = process.argv.slice(2);
if (!directory || prompt === undefined) {
  throw new Error('usage: node examples/generate.mjs DIR PROMPT [MAX_TOKENS]');
}
await tf.setBackend('cpu');
const model = await loadModel(`file://${resolve(directory)}`);
let text = '';
for await (const char of model.generate(prompt, {
  maxTokens: Number(maxTokens),
  temperature: 0.8,
  seed: 7,
})) {
  text += char;
}
console.log(prompt + text);
model.dispose();
