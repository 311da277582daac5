import type * as tf from '@tensorflow/tfjs-core';
import { loadFromDisk } from './disk_loader.js';

/**
 * A tfjs IOHandler for a directory in Node: `model.json` (tfjs model JSON with a weights
 * manifest) and `weights.bin`. Accepts `file://` URLs and plain paths. Imported only in Node
 * (`loadModel('file://…')` loads it on demand); the package's `browser` field maps it to an empty
 * module, so browser bundles never include node:fs.
 * Loading treats `model.json` as untrusted (see `disk_loader.ts`).
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
      const { join } = await import('node:path');
      const modelPath = directory.endsWith('.json') ? directory : join(directory, MODEL_FILE);
      return loadFromDisk(modelPath);
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
