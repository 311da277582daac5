import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';

describe('README quick start (examples/quickstart.ts)', () => {
  it('is the code the README shows', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const example = await readFile(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('creates, trains, saves, loads and generates', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await import('../examples/quickstart.js');
    const lines = log.mock.calls.map((call) => call.map(String).join(' '));
    log.mockRestore();
    expect(lines.some((line) => line.startsWith('step 20 loss'))).toBe(true);
    const sample = JSON.parse(lines.at(-1)!);
    expect(sample).toHaveLength(40);
  });
});
