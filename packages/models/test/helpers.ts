import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import {
  type AttentionConfig,
  type CharLMConfig,
  createModel,
  type Model,
  saveModel,
  train,
} from '../src/index.js';

export const TEXT =
  'it was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. '.repeat(
    8,
  );
export const VOCABULARY = 'abcdefghijklmnopqrstuvwxyz ,.';

export const EA6: AttentionConfig = { kind: 'ea', order: 6 };
export const SOFTMAX: AttentionConfig = { kind: 'softmax' };

/** A char LM small enough for unit tests. */
export function tinyCharLM(overrides: Partial<CharLMConfig> = {}): CharLMConfig {
  return {
    task: 'char-lm',
    vocabulary: VOCABULARY,
    dModel: 16,
    numHeads: 2,
    numLayers: 2,
    maxLength: 16,
    dropout: 0,
    attention: EA6,
    ...overrides,
  };
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not initialise`);
  await tf.ready();
}

/** ‖ref − got‖₂ / ‖ref‖₂ */
export function relativeError(reference: ArrayLike<number>, got: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    diff += (reference[i] - got[i]) ** 2;
    norm += reference[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * Two training steps of a narrow EA-6 char LM at `context` positions with the blocks recomputed
 * in the backward pass, on the current backend: the long-context path at a test's size. Checks
 * that the loss falls and nothing leaks.
 */
export async function expectTrainsAtContext(context: number): Promise<void> {
  const model = createModel(tinyCharLM({ maxLength: context, dModel: 16, numLayers: 2 }), {
    seed: 1,
  });
  const text = TEXT.repeat(Math.ceil((2 * context) / TEXT.length));
  const before = tf.memory().numTensors;
  const { history } = await train(
    model,
    { train: { kind: 'text', text } },
    { steps: 2, batchSize: 1, learningRate: 1e-2, seed: 1, recompute: true },
  );
  if (history.length !== 2 || !(history[1].loss < history[0].loss)) {
    throw new Error(`the loss did not fall over 2 steps: ${history.map((e) => e.loss).join(', ')}`);
  }
  if (tf.memory().numTensors !== before) {
    throw new Error(`${tf.memory().numTensors - before} tensors leaked`);
  }
  model.dispose();
}

/** What `saveModel` writes for `model` (model.json's topology and the weights), kept in memory. */
export async function artifactsOf(model: Model): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await saveModel(
    model,
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved as tf.io.ModelArtifacts;
}
