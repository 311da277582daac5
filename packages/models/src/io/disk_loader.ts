import type * as tf from '@tensorflow/tfjs-core';
import { MAX_MODEL_JSON_BYTES } from './limits.js';
import { type Fail, parseModelJSON, toArtifacts } from './weights_manifest.js';

/**
 * Reads `model.json` and its weights files from disk, treating `model.json` as untrusted: it
 * may name any path and declare any size. So weights paths must pass the manifest checks (no
 * `..`, absolute paths, URLs, backslashes or NUL), must resolve, symlinks followed, to a file
 * inside the folder that holds `model.json`, and must be regular files (not a device, FIFO or
 * directory); the files of each manifest group must hold exactly the bytes its specs declare,
 * which is checked from their sizes before anything is read, and reads stop at that size.
 * `model.json` itself must be a regular file of at most `MAX_MODEL_JSON_BYTES`.
 *
 * node:fs is imported on first use, like the rest of the Node file handler, so that browser
 * bundles never reach it.
 */
export async function loadFromDisk(modelPath: string): Promise<tf.io.ModelArtifacts> {
  const fs = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const path = await import('node:path');
  const fail: Fail = (message) => {
    throw new Error(`nodeFileHandler(${modelPath}): ${message}`);
  };
  // O_NONBLOCK keeps opening a FIFO from waiting for a writer; the fstat below then refuses it.
  const READ = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

  const checked = await (async () => {
    let handle: Awaited<ReturnType<typeof fs.open>>;
    try {
      handle = await fs.open(modelPath, READ);
    } catch (error) {
      return fail(`cannot read ${modelPath}: ${(error as Error).message}`);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) fail(`${modelPath} is not a regular file (it is ${kindOf(stat)})`);
      if (stat.size > MAX_MODEL_JSON_BYTES) {
        fail(`model.json must be at most ${MAX_MODEL_JSON_BYTES} bytes (16 MiB), got ${stat.size}`);
      }
      const bytes = new Uint8Array(stat.size);
      await readExactly(handle, bytes, 0, stat.size, `model.json ${modelPath}`, fail);
      return parseModelJSON(bytes, fail);
    } finally {
      await handle.close();
    }
  })();

  const shown = path.dirname(modelPath);
  let root: string;
  try {
    root = await fs.realpath(shown);
  } catch (error) {
    return fail(`cannot resolve the model's folder ${shown}: ${(error as Error).message}`);
  }

  // Sizes first, from the file system: nothing is read or allocated for a model whose files do
  // not hold exactly what its specs declare.
  const files: Array<{ file: string; real: string; size: number }> = [];
  for (const [g, group] of checked.groups.entries()) {
    let groupBytes = 0;
    for (const relative of group.paths) {
      const file = path.join(shown, relative);
      let real: string;
      try {
        real = await fs.realpath(file);
      } catch (error) {
        return fail(`cannot read weights file ${file}: ${(error as Error).message}`);
      }
      const inside = path.relative(root, real);
      if (
        inside === '' ||
        inside === '..' ||
        inside.startsWith(`..${path.sep}`) ||
        path.isAbsolute(inside)
      ) {
        fail(
          `weights path ${JSON.stringify(relative)} resolves to ${real}, which is not inside the model's folder ${root}`,
        );
      }
      const stat = await fs.stat(real);
      if (!stat.isFile()) {
        fail(`weights file ${file} is not a regular file (it is ${kindOf(stat)})`);
      }
      groupBytes += stat.size;
      files.push({ file, real, size: stat.size });
    }
    if (groupBytes !== group.bytes) {
      const what =
        group.paths.length === 1
          ? `weights file ${path.join(shown, group.paths[0])} has`
          : `the ${group.paths.length} files of weightsManifest[${g}] hold`;
      fail(
        `${what} ${groupBytes} bytes but its weight specs declare ${group.bytes}${groupBytes < group.bytes ? ' (truncated weights file?)' : ' (longer than declared)'}`,
      );
    }
  }

  const data = new Uint8Array(checked.bytes);
  let offset = 0;
  for (const { file, real, size } of files) {
    let handle: Awaited<ReturnType<typeof fs.open>>;
    try {
      handle = await fs.open(real, READ | (constants.O_NOFOLLOW ?? 0));
    } catch (error) {
      return fail(`cannot read weights file ${file}: ${(error as Error).message}`);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size !== size) {
        fail(`weights file ${file} changed while the model was loading`);
      }
      await readExactly(handle, data, offset, size, `weights file ${file}`, fail);
    } finally {
      await handle.close();
    }
    offset += size;
  }
  return toArtifacts(checked, data.buffer);
}

interface ReadHandle {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
}

/** Reads exactly `size` bytes from the start of a file into `out` at `offset`, and no more. */
async function readExactly(
  handle: ReadHandle,
  out: Uint8Array,
  offset: number,
  size: number,
  what: string,
  fail: Fail,
): Promise<void> {
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(out, offset + done, size - done, done);
    if (bytesRead === 0) fail(`${what} ended after ${done} of its ${size} bytes`);
    done += bytesRead;
  }
  const { bytesRead } = await handle.read(new Uint8Array(1), 0, 1, size);
  if (bytesRead > 0) fail(`${what} grew past ${size} bytes while the model was loading`);
}

function kindOf(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}
