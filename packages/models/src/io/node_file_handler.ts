import type * as tf from '@tensorflow/tfjs-core';

/**
 * A tfjs IOHandler for a directory in Node: `model.json` (tfjs model JSON with a weights
 * manifest) and `weights.bin`. Accepts `file://` URLs and plain paths. Imported only in Node
 * (`loadModel('file://…')` loads it on demand), so browser bundles never reach node:fs.
 */
export function nodeFileHandler(location: string): tf.io.IOHandler {
  const directory = location.startsWith('file://') ? fileUrlToPath(location) : location;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { mkdir, writeFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('nodeFileHandler: binary model topologies are not supported');
      }
      const data = artifacts.weightData;
      const weights = data == null ? new Uint8Array(0) : new Uint8Array(joinBuffers(data));
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.userDefinedMetadata)
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, WEIGHTS_FILE), weights);
      await writeFile(join(directory, MODEL_FILE), `${JSON.stringify(modelJSON, null, 1)}\n`);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const { readFile } = await import('node:fs/promises');
      const { join, dirname } = await import('node:path');
      const modelPath = directory.endsWith('.json') ? directory : join(directory, MODEL_FILE);
      let text: string;
      try {
        text = await readFile(modelPath, 'utf8');
      } catch (error) {
        throw new Error(`nodeFileHandler: cannot read ${modelPath}: ${(error as Error).message}`);
      }
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text);
      } catch (error) {
        throw new Error(
          `nodeFileHandler: ${modelPath} is not valid JSON: ${(error as Error).message}`,
        );
      }
      const manifest = modelJSON.weightsManifest;
      if (!Array.isArray(manifest)) {
        throw new Error(`nodeFileHandler: ${modelPath} has no weightsManifest`);
      }
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) {
          const file = join(dirname(modelPath), path);
          let bytes: Buffer;
          try {
            bytes = await readFile(file);
          } catch (error) {
            throw new Error(
              `nodeFileHandler: cannot read weights file ${file}: ${(error as Error).message}`,
            );
          }
          buffers.push(
            bytes.buffer.slice(
              bytes.byteOffset,
              bytes.byteOffset + bytes.byteLength,
            ) as ArrayBuffer,
          );
        }
      }
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: modelJSON.modelTopology,
        format: modelJSON.format,
        generatedBy: modelJSON.generatedBy,
        convertedBy: modelJSON.convertedBy,
        weightSpecs,
        weightData: concat(buffers),
      };
      if (modelJSON.userDefinedMetadata)
        artifacts.userDefinedMetadata = modelJSON.userDefinedMetadata;
      return artifacts;
    },
  };
}

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

function fileUrlToPath(url: string): string {
  // file:///abs/path → /abs/path; file://relative/path → relative/path (tfjs-node's convention).
  const rest = url.slice('file://'.length);
  return decodeURIComponent(rest);
}

function joinBuffers(data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? concat(data) : data;
}

function concat(buffers: ArrayBuffer[]): ArrayBuffer {
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const buffer of buffers) {
    out.set(new Uint8Array(buffer), offset);
    offset += buffer.byteLength;
  }
  return out.buffer;
}
