import * as tf from '@tensorflow/tfjs-core';
import { configParameterCount } from '../config/parameter_count.js';
import type { ModelConfig } from '../config/types.js';
import { resolveConfig } from '../config/validate_config.js';
import { createModel, type Model } from '../create_model.js';
import { expectedWeights } from './expected_weights.js';
import { FORMAT_VERSION, GENERATED_BY, MODEL_FORMAT } from './format.js';
import { checkWeightSpecs, type Fail } from './weights_manifest.js';

/**
 * A model as tfjs model artifacts: the weights as `weightSpecs` + `weightData` (float32, in
 * the model's fixed variable order), the config and format version in `userDefinedMetadata`,
 * so every tfjs IOHandler (http, indexeddb, browser files, memory, file://) can store it.
 */
export async function modelToArtifacts(model: Model): Promise<tf.io.ModelArtifacts> {
  const weights = model.getWeights();
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  // Read asynchronously: a synchronous read on WebGPU inside a Web Worker loses the device.
  for (const [name, tensor] of Object.entries(weights)) {
    specs.push({ name, shape: [...tensor.shape], dtype: 'float32' });
    const values = (await tensor.data()) as Float32Array;
    buffers.push(values.slice().buffer);
  }
  return {
    modelTopology: model.network.toJSON(null, false) as tf.io.ModelArtifacts['modelTopology'],
    format: MODEL_FORMAT,
    generatedBy: GENERATED_BY,
    convertedBy: null,
    weightSpecs: specs,
    weightData: tf.io.concatenateArrayBuffers(buffers),
    userDefinedMetadata: { elementwise: { formatVersion: FORMAT_VERSION, config: model.config } },
  };
}

function joinWeightData(data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/**
 * Compares checked float32 weight specs with the weights a config implies, from the config
 * alone: the same names (none twice, none missing, none extra), each with its shape, and so the
 * same total bytes (`bytes`, what the specs declare). Nothing is allocated.
 */
function checkSpecsMatchConfig(
  specs: tf.io.WeightsManifestEntry[],
  bytes: number,
  config: ModelConfig,
  fail: Fail,
): void {
  const expected = new Map(expectedWeights(config).map((w) => [w.name, w.shape]));
  const names = specs.map((s) => s.name);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) fail(`weight ${name} appears twice`);
    seen.add(name);
  }
  const missing = [...expected.keys()].filter((name) => !seen.has(name));
  const extra = names.filter((name) => !expected.has(name));
  if (missing.length > 0) fail(`missing weights: ${missing.join(', ')}`);
  if (extra.length > 0) fail(`unexpected weights: ${extra.join(', ')}`);
  for (const spec of specs) {
    const shape = expected.get(spec.name) as number[];
    if (!tf.util.arraysEqual(spec.shape, shape)) {
      fail(
        `weight ${spec.name} must have shape [${shape.join(', ')}] for this config, got [${spec.shape.join(', ')}]`,
      );
    }
  }
  const needed = configParameterCount(config) * 4;
  if (bytes !== needed) {
    fail(
      `the weight specs declare ${bytes} bytes but this config's float32 weights take ${needed}`,
    );
  }
}

/**
 * Builds a model from artifacts, strictly: the format and version must be ours, the config
 * valid (no unknown fields), the weight names exactly the model's with the same shapes and
 * float32 dtype, and the weight data exactly as long as the specs say.
 */
export function modelFromArtifacts(artifacts: tf.io.ModelArtifacts, source: string): Model {
  const where = `loadModel(${source})`;
  const fail = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  if (artifacts == null) fail('the handler returned no model artifacts');
  if (artifacts.format !== MODEL_FORMAT) {
    fail(
      `format must be '${MODEL_FORMAT}', got ${JSON.stringify(artifacts.format)} (not a model saved by ${GENERATED_BY})`,
    );
  }
  const meta = (artifacts.userDefinedMetadata as { elementwise?: unknown } | undefined)
    ?.elementwise as { formatVersion?: unknown; config?: unknown } | undefined;
  if (meta == null || typeof meta !== 'object') fail('userDefinedMetadata.elementwise is missing');
  if (meta!.formatVersion !== FORMAT_VERSION) {
    fail(`formatVersion must be ${FORMAT_VERSION}, got ${JSON.stringify(meta!.formatVersion)}`);
  }
  let config: ModelConfig;
  try {
    config = resolveConfig(meta!.config as ModelConfig, 'config');
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!Array.isArray(artifacts.weightSpecs)) fail('weightSpecs are missing');
  const { specs, bytes: expectedBytes } = checkWeightSpecs(
    artifacts.weightSpecs,
    'weightSpecs',
    fail,
  );
  for (const spec of specs) {
    if (spec.dtype !== 'float32')
      fail(`weight ${spec.name} must have dtype float32, got ${spec.dtype}`);
    if (spec.quantization) fail(`weight ${spec.name} is quantized, which is not supported`);
  }
  // Before the model is built: its variables (up to 1 GiB for a config within the limits) are
  // only allocated for weight specs that match the config.
  checkSpecsMatchConfig(specs, expectedBytes, config, fail);
  if (artifacts.weightData == null) fail('weightData is missing');
  // Sizes before joining: a list of buffers is only copied into one when it holds what the
  // specs declare.
  const pieces = Array.isArray(artifacts.weightData)
    ? artifacts.weightData
    : [artifacts.weightData!];
  if (!pieces.every((piece) => piece instanceof ArrayBuffer)) {
    fail('weightData must be an ArrayBuffer or an array of ArrayBuffers');
  }
  const byteLength = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
  if (byteLength !== expectedBytes) {
    fail(
      `weight data has ${byteLength} bytes but the weight specs need ${expectedBytes}${byteLength < expectedBytes ? ' (truncated weights file?)' : ''}`,
    );
  }
  const data = joinWeightData(artifacts.weightData!);

  const model = createModel(config, { seed: 0 });
  try {
    const decoded = tf.io.decodeWeights(data, specs);
    try {
      for (const [name, tensor] of Object.entries(decoded)) {
        if (!(tensor.dataSync() as Float32Array).every(Number.isFinite)) {
          fail(`weight ${name} holds NaN or infinite values`);
        }
      }
      // setWeights checks names and shapes again, against the built model's own variables.
      model.setWeights(decoded);
    } finally {
      tf.dispose(Object.values(decoded));
    }
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}
