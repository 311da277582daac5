import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBrowserBenchmark } from '../index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('runBrowserBenchmark', () => {
  it('runs the bundled entry in Chromium with its arguments and forwards console lines', async () => {
    const lines: string[] = [];
    await runBrowserBenchmark({
      entry: fixture('echo.ts'),
      args: { n: '7' },
      onLine: (line) => lines.push(line),
    });
    expect(lines).toEqual(['square 7 = 49', 'in browser: true']);
  });

  it('rejects with the page error when run throws, after forwarding earlier output', async () => {
    const lines: string[] = [];
    await expect(
      runBrowserBenchmark({
        entry: fixture('fails.ts'),
        args: { reason: 'bad input' },
        onLine: (line) => lines.push(line),
      }),
    ).rejects.toThrow('bench failed with bad input');
    expect(lines).toEqual(['before failure']);
  });

  it('rejects when run does not settle in time', async () => {
    await expect(
      runBrowserBenchmark({ entry: fixture('hangs.ts'), timeoutMs: 1500, onLine: () => {} }),
    ).rejects.toThrow('benchmark did not finish within 1500 ms');
  });

  it('names the argument when entry is not an absolute path', async () => {
    await expect(runBrowserBenchmark({ entry: 'fixtures/echo.ts' })).rejects.toThrow(
      'entry must be an absolute path, got fixtures/echo.ts',
    );
  });
});
