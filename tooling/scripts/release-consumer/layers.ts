// A user of @elementwise/layers, as published: the layers README's tf.sequential example with the
// @tensorflow/tfjs union package, checked: the loss falls, and the model saved with model.save
// and reloaded with plain tf.loadLayersModel predicts the same.
import { elementwiseAttentionLayer, multiHeadAttentionLayer } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs';
import { checkerFor } from './support/check.js';

const check = checkerFor('@elementwise/layers');

await tf.setBackend('cpu');

// Next-token prediction on sequences that cycle through tokens 1..5.
const tokens = Array.from({ length: 64 }, (_, s) =>
  Array.from({ length: 17 }, (_, i) => 1 + ((s + i) % 5)),
);
const xs = tf.tensor2d(tokens.map((t) => t.slice(0, 16)));
const ys = tf.tensor3d(tokens.map((t) => t.slice(1).map((token) => [token])));

for (const [name, attention] of [
  ['elementwiseAttentionLayer', () => elementwiseAttentionLayer({ order: 6, causal: true })],
  [
    'multiHeadAttentionLayer',
    () => multiHeadAttentionLayer({ numHeads: 4, keyDim: 8, causal: true }),
  ],
] as const) {
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: 6, outputDim: 32, inputLength: 16 }));
  model.add(attention());
  model.add(tf.layers.dense({ units: 6, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  const { history } = await model.fit(xs, ys, { epochs: 5, batchSize: 16, verbose: 0 });
  const losses = history.loss.map(Number);
  check(losses.at(-1)! < 0.7 * losses[0], `${name}: the loss did not fall: ${losses.join(', ')}`);

  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const same = tf.equal(model.predict(xs) as tf.Tensor, loaded.predict(xs) as tf.Tensor).all();
  check(same.dataSync()[0] === 1, `${name}: the reloaded model predicts differently`);
  console.log(
    `${name}: loss ${losses[0].toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}, reloaded model predicts the same`,
  );
}
