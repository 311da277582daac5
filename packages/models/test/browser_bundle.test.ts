/**
 * Browser users bundle the published package: its Node-only file loader must not pull node:fs
 * into their bundle. The package's `browser` field maps the loader's modules to empty ones;
 * esbuild, which honours that field as Vite and webpack do, bundles the built entry here.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('a browser bundle of @elementwise/models', () => {
  it('builds for platform browser and holds no Node built-in module', async () => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      external: ['@tensorflow/*', '@elementwise/*'],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).toContain('fromPretrained');
    expect(code.match(/["']node:[a-z/_]+["']/g) ?? []).toEqual([]);
  });
});
