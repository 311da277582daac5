// What @elementwise/models does with a config or a model folder, as JSON on stdout, for the
// PyTorch package's tests: node scripts/models.mjs COMMAND ARGS
//
//   describe CONFIG.json            the resolved config, expectedWeights and the network's
//                                   toJSON(null, false) (the model.json modelTopology)
//   save CONFIG.json SEED DIR       createModel(config, {seed}) saved to DIR (model.json + weights.bin)
//   predict DIR INPUTS.json         loadModel(DIR) and network.predict(inputs)
//   layers-predict DIR INPUTS.json  tf.loadLayersModel(DIR/model.json) and predict(inputs)
//
// INPUTS.json: {"x": nested array, "dtype": "int32" | "float32", "times"?: nested array}.
import '@tensorflow/tfjs-backend-cpu';
import '@elementwise/layers';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createModel, loadModel, saveModel } from '@elementwise/models';
import { nodeFileHandler } from '@elementwise/models/node';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const [command, ...args] = process.argv.slice(2);
const readJSON = (path) => JSON.parse(readFileSync(path, 'utf8'));
const fileUrl = (dir) => `file://${resolve(dir)}`;

await tf.setBackend('cpu');

function inputsOf(path) {
  const { x, dtype, times } = readJSON(path);
  const input = tf.tensor(x, undefined, dtype);
  return times === undefined ? input : [input, tf.tensor(times, undefined, 'float32')];
}

async function expected(config) {
  // expectedWeights is internal to the package: the names and shapes of a fresh model's weights.
  const model = createModel(config, { seed: 0 });
  const weights = Object.entries(model.getWeights()).map(([name, t]) => ({ name, shape: t.shape }));
  const result = {
    config: model.config,
    weights,
    topology: model.network.toJSON(null, false),
  };
  model.dispose();
  return result;
}

switch (command) {
  case 'describe': {
    process.stdout.write(JSON.stringify(await expected(readJSON(args[0]))));
    break;
  }
  case 'save': {
    const model = createModel(readJSON(args[0]), { seed: Number(args[1]) });
    await saveModel(model, nodeFileHandler(resolve(args[2])));
    model.dispose();
    process.stdout.write('{}');
    break;
  }
  case 'predict': {
    const model = await loadModel(fileUrl(args[0]));
    const y = model.network.predict(inputsOf(args[1]));
    process.stdout.write(JSON.stringify({ y: await y.array(), config: model.config }));
    break;
  }
  case 'layers-predict': {
    const network = await tfl.loadLayersModel(nodeFileHandler(resolve(args[0])));
    const y = network.predict(inputsOf(args[1]));
    process.stdout.write(JSON.stringify({ y: await y.array() }));
    break;
  }
  default:
    throw new Error(`unknown command ${command}; see the comment at the top of scripts/models.mjs`);
}
