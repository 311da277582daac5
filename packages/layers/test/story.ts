import type * as Tfjs from '@tensorflow/tfjs';
import { expect } from 'vitest';

/**
 * The user story of issue 17, written as a tfjs user writes it (one `tf` namespace, public
 * entry points only): a `tf.sequential` of `tf.layers.embedding`, an attention layer and
 * `tf.layers.dense` trains with `model.fit` (the loss falls), saves with
 * `model.save(tf.io.withSaveHandler(…))`, reloads with `tf.loadLayersModel(tf.io.fromMemory(…))`
 * and predicts identically.
 *
 * `tf` is the `@tensorflow/tfjs` union package, or tfjs-core and tfjs-layers merged.
 *
 * `inputs: 'one-hot'` replaces the embedding by `tf.layers.dense` on one-hot tokens, for the
 * tfjs `wasm` backend: tfjs 4.22's wasm backend has no `UnsortedSegmentSum` kernel, which the
 * gradient of `tf.layers.embedding` (a gather) needs, so no model with a trainable
 * `tf.layers.embedding` can `fit` there, with or without our layers.
 */
export async function trainSaveLoadPredict(
  tf: typeof Tfjs,
  attention: () => Tfjs.layers.Layer,
  className: string,
  inputs: 'embedding' | 'one-hot' = 'embedding',
): Promise<void> {
  // Next-token prediction on a cycle of 5 tokens: learnable from causal context.
  const vocabulary = 6;
  const length = 12;
  const sequences = 32;
  const tokens = Array.from({ length: sequences }, (_, s) =>
    Array.from({ length: length + 1 }, (_, i) => 1 + ((s + i) % 5)),
  );
  const ids = tf.tensor2d(
    tokens.map((t) => t.slice(0, length)),
    undefined,
    'int32',
  );
  const xs = inputs === 'embedding' ? ids : tf.cast(tf.oneHot(ids, vocabulary), 'float32');
  const ys = tf.tensor3d(tokens.map((t) => t.slice(1).map((token) => [token])));

  const model = tf.sequential();
  if (inputs === 'embedding') {
    model.add(tf.layers.embedding({ inputDim: vocabulary, outputDim: 16, inputLength: length }));
  } else {
    model.add(tf.layers.dense({ units: 16, inputShape: [length, vocabulary] }));
  }
  model.add(attention());
  model.add(tf.layers.dense({ units: vocabulary, activation: 'softmax' }));
  const optimizer = tf.train.adam(0.02);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });

  const history = await model.fit(xs, ys, { epochs: 8, batchSize: 8, shuffle: false, verbose: 0 });
  const losses = history.history.loss as number[];
  expect(losses[losses.length - 1], `loss ${losses.join(', ')}`).toBeLessThan(losses[0] * 0.5);

  let saved: Tfjs.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  expect(JSON.stringify(saved?.modelTopology)).toContain(`"class_name":"${className}"`);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as Tfjs.io.ModelArtifacts));
  expect(loaded.layers[1].getClassName()).toBe(className);
  // Configs equal up to undefined vs null, which JSON does not keep apart.
  const plain = (config: object) =>
    JSON.stringify(config, (_, value) => (value === undefined ? null : value));
  expect(plain(loaded.layers[1].getConfig())).toBe(plain(model.layers[1].getConfig()));

  const before = model.predict(xs) as Tfjs.Tensor;
  const after = loaded.predict(xs) as Tfjs.Tensor;
  expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
  tf.dispose([ids, xs, ys, before, after]);
  model.dispose();
  loaded.dispose();
  optimizer.dispose();
}
