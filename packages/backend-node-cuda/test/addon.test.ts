import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendInfo } from '../src/index.js';

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const prebuilt = `${packageDir}prebuilds/linux-x64/ew_cuda.node`;
const local = `${packageDir}build/Release/ew_cuda.node`;
const FUNCTIONS = ['forward', 'backward', 'step', 'backendInfo'];

describe('native addon', () => {
  const exportsOf = (path: string) => {
    expect(existsSync(path), `${path} exists`).toBe(true);
    const addon = require(path) as Record<string, unknown>;
    for (const fn of FUNCTIONS) expect(typeof addon[fn], fn).toBe('function');
    return (addon.backendInfo as () => { builtWithCuda: boolean; sourceHash: string })();
  };

  it('the prebuilt binary is built from the current native sources', () => {
    const hash = createHash('sha256');
    for (const name of readdirSync(`${packageDir}native`).sort()) {
      hash.update(readFileSync(`${packageDir}native/${name}`));
    }
    expect(
      exportsOf(prebuilt).sourceHash,
      'prebuilds/ is stale: run `node scripts/build-native.mjs --prebuild` (with nvcc)',
    ).toBe(hash.digest('hex').slice(0, 16));
  });

  it('the prebuilt binary exports every kernel function and contains the CUDA kernels', () => {
    expect(exportsOf(prebuilt).builtWithCuda).toBe(true);
  });

  it('the local build exports every kernel function', () => {
    exportsOf(local);
  });

  it('prebuilt binary stays under 20 MB', () => {
    expect(statSync(prebuilt).size).toBeLessThan(20 * 1024 * 1024);
  });

  it('reports the path it selected and why', () => {
    const info = backendInfo();
    expect(['cuda', 'host']).toContain(info.path);
    expect(info.reason.length).toBeGreaterThan(0);
    expect(info.addon).toBe(prebuilt);
  });

  it('rejects arrays of the wrong length with a clear error, writing nothing', () => {
    const addon = require(prebuilt) as {
      step: (record: Record<string, unknown>) => void;
    };
    const row = new Float32Array(4);
    const state = new Float32Array(12);
    const y = new Float32Array(4).fill(7);
    const record = { q: row, k: row, v: row, s: state, z: state, y, nextS: state, nextZ: state };
    const sizes = { batch: 1, channels: 4 };
    expect(() => addon.step({ ...record, ...sizes, order: 2, z: new Float32Array(11) })).toThrow(
      "field 'z' must be a Float32Array of 12 elements, got a Float32Array of 11 elements",
    );
    expect(() => addon.step({ ...record, ...sizes, order: 3 })).toThrow(
      "field 'order' must be an even integer >= 0",
    );
    expect(Array.from(y)).toEqual([7, 7, 7, 7]);
  });
});

/**
 * Imports the package in a fresh Node process with `env`, prints `backendInfo()` and then runs
 * `then` (a module body); returns the exit status and output.
 */
function importWith(env: Record<string, string>, then = '') {
  const entry = `${packageDir}dist/index.js`;
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(m.backendInfo()));\n${then}`,
    ],
    { cwd: packageDir, env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const onGpu = backendInfo().path === 'cuda';

describe('device selection (child process)', () => {
  it.runIf(onGpu)('EW_CUDA=force selects the CUDA device', () => {
    const { status, stdout } = importWith({ EW_CUDA: 'force' });
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ path: 'cuda', mode: 'force' });
  });

  it.skipIf(onGpu)(
    'EW_CUDA=force fails the import with a clear error when no CUDA device is usable',
    () => {
      const { status, stderr } = importWith({ EW_CUDA: 'force' });
      expect(status).not.toBe(0);
      expect(stderr).toContain('EW_CUDA=force but the CUDA path is unavailable');
      expect(stderr).toContain(backendInfo().reason);
    },
  );

  it('EW_CUDA=off selects the host path', () => {
    const { status, stdout } = importWith({ EW_CUDA: 'off' });
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ path: 'host', reason: 'EW_CUDA=off', mode: 'off' });
  });

  it('an unknown EW_CUDA value fails the import', () => {
    const { status, stderr } = importWith({ EW_CUDA: 'yes' });
    expect(status).not.toBe(0);
    expect(stderr).toContain("EW_CUDA must be 'auto', 'force' or 'off', got 'yes'");
  });

  it('without a loadable addon the import works and the kernels throw an error naming it', () => {
    const missing = `${packageDir}build/no-such-addon.node`;
    const { status, stdout, stderr } = importWith(
      { EW_ADDON: missing },
      `
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      const { elementwiseAttention } = await import('@elementwise/attention');
      await tf.setBackend('cpu');
      const x = tf.ones([1, 2, 3]);
      elementwiseAttention(x, x, x, { order: 2 });
      `,
    );
    expect(JSON.parse(stdout.split('\n')[0])).toMatchObject({ path: 'unavailable' });
    expect(status).not.toBe(0);
    expect(stderr).toContain(`no native addon: EW_ADDON=${missing} not found`);
    expect(stderr).toContain('npm rebuild @elementwise/backend-node-cuda');
  });
});
