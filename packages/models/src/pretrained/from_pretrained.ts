import type { Model } from '../create_model.js';
import { loadModel, loadThrough } from '../io/save_load.js';
import { urlLoadHandler } from '../io/url_loader.js';
import { checkOptions } from '../options.js';
import { PRETRAINED, type PretrainedEntry } from './registry.js';

/** The shipped models: name, task, description and held-out metrics. */
export function listPretrained(): Array<{
  name: string;
  task: string;
  description: string;
  metrics: Record<string, number>;
}> {
  return PRETRAINED.map((entry) => ({ ...entry, metrics: { ...entry.metrics } }));
}

/**
 * Where shipped models are: the package's `pretrained/` directory, two levels above this module
 * both in `src/pretrained/` and in `dist/pretrained/`. The base is kept in a variable so that
 * bundlers leave the URL alone (rewriting it as an asset would keep model.json but not its
 * weights file); a bundled app serves the directory itself and passes `baseUrl`.
 */
const MODULE_URL = import.meta.url;

export function pretrainedUrl(
  name: string,
  baseUrl: string | URL = new URL('../../pretrained/', MODULE_URL),
): URL {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(`${encodeURIComponent(name)}/model.json`, base);
}

/**
 * Loads `model.json` at a URL: a `file:` URL through the Node file handler, anything else
 * (http(s), blob: in browsers) by fetch, with the weights beside it. Both keep weights paths
 * inside the model's folder and check sizes before reading.
 */
export async function loadFromUrl(url: URL, onProgress?: (fraction: number) => void): Promise<Model> {
  if (url.protocol === 'file:') {
    const model = await loadModel(url.href);
    onProgress?.(1);
    return model;
  }
  return loadThrough(urlLoadHandler(url.href, { onProgress }), url.href);
}

/** {@link fromPretrained} over a given registry and locator. */
export async function loadPretrained(
  name: string,
  registry: readonly PretrainedEntry[],
  locate: (name: string) => URL,
  onProgress?: (fraction: number) => void,
): Promise<Model> {
  const entry = registry.find((e) => e.name === name);
  if (!entry) {
    const available = registry.map((e) => e.name);
    throw new Error(
      `fromPretrained: unknown model ${JSON.stringify(name)}; available: ${available.length > 0 ? available.join(', ') : '(none shipped in this version)'}`,
    );
  }
  const model = await loadFromUrl(locate(name), onProgress);
  if (model.task !== entry.task) {
    model.dispose();
    throw new Error(
      `fromPretrained: ${name} is registered as ${entry.task} but holds a ${model.task} model`,
    );
  }
  return model;
}

/**
 * Loads a shipped model by name (see {@link listPretrained}). In Node it reads the package's
 * `pretrained/<name>/` from disk; in a browser it fetches it relative to this module, which
 * works when the package is served as published (e.g. from a CDN). A bundled app copies
 * `node_modules/@elementwise/models/pretrained/` to its static files and passes their URL as
 * `baseUrl` (e.g. `'/pretrained/'`, resolved against the page). `onProgress` receives the
 * fraction of the weights downloaded (0 to 1) as they arrive, for a progress bar. An unknown name
 * throws listing the available ones.
 */
export async function fromPretrained(
  name: string,
  options?: { baseUrl?: string | URL; onProgress?: (fraction: number) => void },
): Promise<Model> {
  const { baseUrl, onProgress } = checkOptions<{
    baseUrl: string | URL;
    onProgress: (fraction: number) => void;
  }>('fromPretrained', options, ['baseUrl', 'onProgress']);
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new Error(
      `fromPretrained: options.onProgress must be a function of the fraction loaded, got ${onProgress === null ? 'null' : typeof onProgress}`,
    );
  }
  const base = resolveBaseUrl(baseUrl);
  return loadPretrained(name, PRETRAINED, (n) => pretrainedUrl(n, base), onProgress);
}

/** `options.baseUrl` as a URL: absolute, or in a browser relative to the page. */
function resolveBaseUrl(baseUrl: unknown): URL | undefined {
  if (baseUrl === undefined || baseUrl instanceof URL) return baseUrl;
  const inPage = typeof location !== 'undefined';
  const expected = inPage ? 'a URL (absolute, or relative to the page)' : 'an absolute URL';
  if (typeof baseUrl !== 'string') {
    throw new Error(
      `fromPretrained: options.baseUrl must be ${expected} as a string or URL, got ${baseUrl === null ? 'null' : typeof baseUrl}`,
    );
  }
  try {
    return inPage ? new URL(baseUrl, location.href) : new URL(baseUrl);
  } catch {
    throw new Error(
      `fromPretrained: options.baseUrl must be ${expected} such as 'https://example.com/pretrained/', got ${JSON.stringify(baseUrl)}`,
    );
  }
}
