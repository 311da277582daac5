import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../create_model.js';
import { modelFromArtifacts, modelToArtifacts } from './artifacts.js';
import { urlLoadHandler } from './url_loader.js';

async function fileHandler(url: string): Promise<tf.io.IOHandler> {
  const { nodeFileHandler } = await import('./node_file_handler.js');
  return nodeFileHandler(url);
}

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node != null;
}

async function handlerFor(
  location: string | tf.io.IOHandler,
  purpose: 'save' | 'load',
): Promise<{ handler: tf.io.IOHandler; label: string }> {
  if (typeof location !== 'string') {
    if (location == null || typeof location[purpose] !== 'function') {
      throw new Error(`${purpose}Model: the IOHandler has no ${purpose}() method`);
    }
    return { handler: location, label: 'IOHandler' };
  }
  if (location.startsWith('file://')) {
    if (!isNode())
      throw new Error(`${purpose}Model: file:// URLs work only in Node, got ${location}`);
    return { handler: await fileHandler(location), label: location };
  }
  if (purpose === 'load' && /^https?:\/\//i.test(location)) {
    // Not tfjs's http handler: that one follows any weights path model.json names and reads
    // responses of any size (see url_loader.ts).
    return { handler: urlLoadHandler(location), label: location };
  }
  const handlers =
    purpose === 'save' ? tf.io.getSaveHandlers(location) : tf.io.getLoadHandlers(location);
  if (handlers.length === 0) {
    throw new Error(
      `${purpose}Model: no tfjs IOHandler for ${JSON.stringify(location)}; use a URL such as file://dir (Node), http(s)://…, indexeddb://name, localstorage://name, or pass an IOHandler`,
    );
  }
  return { handler: handlers[0], label: location };
}

/**
 * Saves a model's config and weights through any tfjs IOHandler or URL: `file://dir` in Node
 * (model.json + weights.bin), `indexeddb://name`, `localstorage://name`, `downloads://name`,
 * `http(s)://` (POST), or a handler such as `tf.io.withSaveHandler(...)`.
 */
export async function saveModel(
  model: Model,
  destination: string | tf.io.IOHandler,
): Promise<void> {
  const { handler } = await handlerFor(destination, 'save');
  await handler.save!(await modelToArtifacts(model));
}

/**
 * Loads a model saved by {@link saveModel} from a URL or tfjs IOHandler (e.g. `file://dir`,
 * `http(s)://…/model.json`, `indexeddb://name`, `tf.io.browserFiles([json, bin])`,
 * `tf.io.fromMemory(artifacts)`), validating it strictly: a wrong format or version, an invalid
 * or unknown config field, missing, extra or misshapen weights, or a truncated weights file
 * throw an Error saying what is wrong. From `file://` and `http(s)://` the model is untrusted:
 * weights paths must stay in the model's folder and sizes are checked before reading (README,
 * "Loading untrusted models").
 */
export async function loadModel(source: string | tf.io.IOHandler): Promise<Model> {
  const { handler, label } = await handlerFor(source, 'load');
  return loadThrough(handler, label);
}

/** Loads artifacts from a handler and builds the model; `label` names the source in errors. */
export async function loadThrough(handler: tf.io.IOHandler, label: string): Promise<Model> {
  const artifacts = await handler.load!();
  return modelFromArtifacts(artifacts, label);
}
