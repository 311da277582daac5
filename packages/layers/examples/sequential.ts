import { elementwiseAttentionLayer } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs';

// Next-token prediction on sequences that cycle through tokens 1..5.
const tokens = Array.from({ length: 64 }, (_, s) =>
  Array.from({ length: 17 }, (_, i) => 1 + ((s + i) % 5)),
);
const xs = tf.tensor2d(tokens.map((t) => t.slice(0, 16)));
const ys = tf.tensor3d(tokens.map((t) => t.slice(1).map((token) => [token])));

const model = tf.sequential();
model.add(tf.layers.embedding({ inputDim: 6, outputDim: 32, inputLength: 16 }));
model.add(elementwiseAttentionLayer({ order: 6, causal: true }));
model.add(tf.layers.dense({ units: 6, activation: 'softmax' }));
model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
const { history } = await model.fit(xs, ys, { epochs: 5, batchSize: 16, verbose: 0 });

// Save wherever tf.io can (here: to memory) and load back with plain tf.loadLayersModel.
let saved: tf.io.ModelArtifacts | undefined;
await model.save(
  tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
);
const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
const same = tf.equal(model.predict(xs) as tf.Tensor, loaded.predict(xs) as tf.Tensor).all();
console.log(
  history.loss.map((loss) => Number(loss).toFixed(3)),
  same.dataSync()[0] === 1,
);
