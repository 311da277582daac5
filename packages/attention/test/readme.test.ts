import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, vi } from 'vitest';

it('the README quick start is examples/quickstart.ts verbatim, and it runs', async () => {
  const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(example);
  expect(example.split('\n').filter((line) => line.trim() !== '').length).toBeLessThan(20);

  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('../examples/quickstart.js');
  expect(log).toHaveBeenCalledWith(
    [2, 128, 64],
    [
      [2, 128, 64],
      [2, 128, 64],
      [2, 128, 64],
    ],
    [2, 7, 64],
  );
  log.mockRestore();
  expect(tf.getBackend()).toBe('cpu');
});
