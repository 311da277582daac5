import * as tf from '@tensorflow/tfjs-core';
import { MAX_MODEL_JSON_BYTES } from './limits.js';
import { weightUrl } from './weight_paths.js';
import { type Fail, parseModelJSON, toArtifacts } from './weights_manifest.js';

/**
 * A tfjs IOHandler that loads `model.json` and its weights by `fetch` (http(s), and blob: URLs
 * in browsers), treating `model.json` as untrusted, as the Node file loader does: weights URLs
 * are formed like tfjs's `tf.io.http` forms them but must stay under the model's folder on its
 * origin (no `..`, also percent-encoded, no absolute path or URL), `model.json` is read up to
 * `MAX_MODEL_JSON_BYTES` and each manifest group's files up to the bytes its specs declare —
 * a longer or shorter response is refused, and reading stops there. `onProgress` receives the
 * fraction of the declared weight bytes read so far (0 to 1), as tfjs's own loaders report it.
 */
export function urlLoadHandler(url: string, options: UrlLoadOptions = {}): tf.io.IOHandler {
  return { load: () => loadByFetch(url, options) };
}

export interface UrlLoadOptions {
  fetchFunc?: typeof fetch;
  requestInit?: RequestInit;
  onProgress?: (fraction: number) => void;
}

const PROTOCOLS = ['http:', 'https:', 'blob:'];

async function loadByFetch(
  href: string,
  { fetchFunc, requestInit, onProgress }: UrlLoadOptions,
): Promise<tf.io.ModelArtifacts> {
  const fail: Fail = (message) => {
    throw new Error(`loadModel(${href}): ${message}`);
  };
  let modelUrl: URL;
  try {
    modelUrl = new URL(href);
  } catch {
    return fail('the model URL must be an absolute URL such as https://host/model.json');
  }
  if (!PROTOCOLS.includes(modelUrl.protocol)) {
    fail(`the model URL must use ${PROTOCOLS.join(', ')}, got ${modelUrl.protocol}`);
  }
  const get = async (url: string): Promise<Response> => {
    let response: Response;
    try {
      response = await (fetchFunc
        ? fetchFunc(url, requestInit)
        : tf.env().platform.fetch(url, requestInit));
    } catch (error) {
      return fail(`cannot fetch ${url}: ${(error as Error).message}`);
    }
    if (!response.ok) fail(`cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`);
    return response;
  };

  const json = await readAll(await get(modelUrl.href), MAX_MODEL_JSON_BYTES);
  if (json === undefined) {
    fail(`model.json must be at most ${MAX_MODEL_JSON_BYTES} bytes (16 MiB), got more`);
  }
  const checked = parseModelJSON(json as Uint8Array, fail);

  const data = new Uint8Array(checked.bytes);
  const report = (read: number) => onProgress?.(checked.bytes > 0 ? read / checked.bytes : 1);
  report(0);
  let offset = 0;
  for (const [g, group] of checked.groups.entries()) {
    const start = offset;
    const end = offset + group.bytes;
    let lastUrl = '';
    for (const [p, path] of group.paths.entries()) {
      const resolved = weightUrl(modelUrl, path);
      if ('problem' in resolved) fail(`weightsManifest[${g}].paths[${p}] ${resolved.problem}`);
      const { url } = resolved as { url: string };
      lastUrl = url;
      const before = offset;
      const read = await readInto(await get(url), data, offset, end - offset, (bytes) =>
        report(Math.min(before + bytes, end)),
      );
      if (offset + read > end) {
        fail(
          `weights file ${url} is longer than declared: weightsManifest[${g}]'s specs declare ${group.bytes} bytes for its files`,
        );
      }
      offset += read;
    }
    if (offset !== end) {
      const what =
        group.paths.length === 1
          ? `weights file ${lastUrl} has`
          : `the ${group.paths.length} files of weightsManifest[${g}] hold`;
      fail(
        `${what} ${offset - start} bytes but its weight specs declare ${group.bytes} (truncated weights file?)`,
      );
    }
  }
  return toArtifacts(checked, data.buffer);
}

/** The body's length from Content-Length, when that counts the bytes the body will yield. */
function declaredLength(response: Response): number {
  // With a Content-Encoding (gzip, …) the header counts compressed bytes, not the body's.
  const encoding = response.headers.get('content-encoding');
  if (encoding != null && encoding !== 'identity') return Number.NaN;
  return Number(response.headers.get('content-length') ?? Number.NaN);
}

/**
 * Copies a response body into `out` at `offset`, reading at most `room + 1` bytes: returns the
 * number of bytes of the body, or `room + 1` when it is longer than `room` (then the rest is
 * never read). A Content-Length above `room` is refused before reading. `onBytes` receives the
 * bytes copied so far after each chunk.
 */
async function readInto(
  response: Response,
  out: Uint8Array,
  offset: number,
  room: number,
  onBytes: (bytes: number) => void,
): Promise<number> {
  if (declaredLength(response) > room) {
    await response.body?.cancel().catch(() => {});
    return room + 1;
  }
  if (response.body == null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > room) return room + 1;
    out.set(bytes, offset);
    onBytes(bytes.byteLength);
    return bytes.byteLength;
  }
  const reader = response.body.getReader();
  let done = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return done;
    if (done + chunk.value.byteLength > room) {
      await reader.cancel().catch(() => {});
      return room + 1;
    }
    out.set(chunk.value, offset + done);
    done += chunk.value.byteLength;
    onBytes(done);
  }
}

/** A whole response body of at most `max` bytes, or `undefined` if it is longer (not read on). */
async function readAll(response: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = declaredLength(response);
  if (declared > max) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (response.body == null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    return bytes.byteLength > max ? undefined : bytes;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk.value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
