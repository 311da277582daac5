/**
 * The page side of train_memory_browser_run.ts: one char-LM training step's peak tensor memory
 * per token and its time on tfjs's webgl and webgpu backends with this project's fused kernels,
 * with and without `recompute`. Prints a markdown table.
 */
import '@elementwise/backend-webgl';
import '@elementwise/backend-webgpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { type CharLMConfig, createModel, train } from '../dist/index.js';

const BATCH = 4;
const TEXT =
  'Call me Ishmael. Some years ago, never mind how long precisely, having little money. '.repeat(
    200,
  );

interface Row {
  backend: string;
  context: number;
  recompute: boolean;
  ms: number;
  peakMB: number;
  kbPerToken: number;
}

async function measure(backend: string, context: number, recompute: boolean): Promise<Row> {
  const config: CharLMConfig = {
    task: 'char-lm',
    vocabulary: Array.from(new Set(TEXT)).join(''),
    dModel: 128,
    numHeads: 4,
    numLayers: 3,
    maxLength: context,
    dropout: 0,
    attention: { kind: 'ea', order: 6 },
  };
  const model = createModel(config, { seed: 1 });
  const options = { steps: 1, batchSize: BATCH, learningRate: 1e-3, seed: 1, recompute };
  const data = { train: { kind: 'text' as const, text: TEXT } };
  // The first step builds the optimizer's slots and the backends' programs.
  await train(model, data, options);
  const start = performance.now();
  await train(model, data, options);
  const ms = performance.now() - start;
  const before = tf.memory().numBytes;
  const profile = await tf.profile(async () => {
    await train(model, data, options);
  });
  model.dispose();
  const peak = profile.peakBytes - before;
  return {
    backend,
    context,
    recompute,
    ms,
    peakMB: peak / 1e6,
    kbPerToken: peak / 1024 / (BATCH * context),
  };
}

export async function run(args: Record<string, string>): Promise<void> {
  const contexts = (args.contexts ?? '256,512').split(',').map(Number);
  const rows: Row[] = [];
  for (const backend of ['webgl', 'webgpu']) {
    if (!(await tf.setBackend(backend))) {
      console.log(`${backend}: not available in this browser`);
      continue;
    }
    await tf.ready();
    for (const context of contexts) {
      for (const recompute of [false, true]) {
        const row = await measure(backend, context, recompute);
        console.log(JSON.stringify(row));
        rows.push(row);
      }
    }
  }
  console.log(
    '\n| backend | context | recompute | train ms/step | step peak MB | KB per train token |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows)
    console.log(
      `| ${row.backend} | ${row.context} | ${row.recompute ? 'yes' : 'no'} | ${row.ms.toFixed(0)} | ${row.peakMB.toFixed(1)} | ${row.kbPerToken.toFixed(1)} |`,
    );
}
