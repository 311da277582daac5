import { describeValue } from '../describe_value.js';

/**
 * Where a weights path from an untrusted `model.json` may point: a file inside the model's own
 * folder (or under its URL), named relative to it. These are the checks on the text of the path;
 * the Node loader then also resolves symlinks and the URL loader the URL itself, since a path
 * can pass every rule here and still leave the folder through a symlink or an encoding.
 */

/** A URL scheme such as `file:`, `https:`, `data:`, or a Windows drive letter `C:`. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Why `path` is not an acceptable weights path, as the end of a sentence starting with its
 * name (`must …, got …`), or `undefined` when it is one: a non-empty relative path with `/`
 * separators, without `..` segments, a leading `/`, a URL scheme, backslashes or NUL.
 */
export function weightPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return `must be a string, got ${describeValue(path)}`;
  const got = `got ${JSON.stringify(path)}`;
  if (path === '') return `must be a relative path to a file in the model's folder, ${got}`;
  if (path.includes('\0')) return `must not contain NUL characters, ${got}`;
  if (path.includes('\\')) return `must use '/' as separator, not backslashes, ${got}`;
  if (path.startsWith('/')) return `must be relative to the model's folder, not absolute, ${got}`;
  if (SCHEME.test(path)) return `must be relative to the model's folder, not a URL, ${got}`;
  if (path.split('/').includes('..')) {
    return `must stay inside the model's folder (no '..' segments), ${got}`;
  }
  return undefined;
}

/**
 * The URL of weights file `path` of the model at `modelUrl`, as tfjs's http handler forms it
 * (the model's folder, then the path, then the model URL's query), after checking that it stays
 * under that folder on the same origin. Percent-encoded dots and slashes are decoded for the
 * check, since servers and URL parsers may treat `%2e%2e` as `..`.
 */
export function weightUrl(modelUrl: URL, path: string): { url: string } | { problem: string } {
  const lexical = weightPathProblem(path);
  if (lexical !== undefined) return { problem: lexical };
  const got = `got ${JSON.stringify(path)}`;
  if (path.includes('?') || path.includes('#')) {
    return { problem: `must not contain '?' or '#', ${got}` };
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { problem: `must be a valid percent-encoded URL path, ${got}` };
  }
  if (decoded !== path) {
    const problem = weightPathProblem(decoded);
    if (problem !== undefined) return { problem: `${problem} once percent-decoded` };
  }
  const base = folderOf(modelUrl);
  const candidate = `${base}${path}${modelUrl.search}`;
  let resolved: URL;
  try {
    resolved = new URL(candidate);
  } catch {
    return { problem: `must form a valid URL under ${base}, ${got}` };
  }
  if (resolved.origin !== modelUrl.origin || !resolved.href.startsWith(base)) {
    return { problem: `must stay under ${base}, ${got} (resolves to ${resolved.href})` };
  }
  return { url: resolved.href };
}

/** The model URL without query, fragment and file name: `https://h/m/model.json?x` → `https://h/m/`. */
function folderOf(url: URL): string {
  const plain = url.href.slice(0, url.href.length - url.search.length - url.hash.length);
  return plain.slice(0, plain.lastIndexOf('/') + 1);
}
