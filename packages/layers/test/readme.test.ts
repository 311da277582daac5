import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = (name: string) =>
  readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8');

it('the README tf.sequential example is examples/sequential.ts verbatim, and it runs', async () => {
  expect(readme).toContain(`\`\`\`ts\n${example('sequential.ts')}\`\`\``);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('../examples/sequential.js');
  expect(log).toHaveBeenCalledTimes(1);
  const [losses, same] = log.mock.calls[0] as [string[], boolean];
  expect(losses).toHaveLength(5);
  expect(Number(losses[4])).toBeLessThan(Number(losses[0]));
  expect(same).toBe(true);
  log.mockRestore();
  expect(tf.getBackend()).toBe('cpu');
});

it('the README generation example is examples/step.ts verbatim, and it runs', async () => {
  expect(readme).toContain(`\`\`\`ts\n${example('step.ts')}\`\`\``);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('../examples/step.js');
  expect(log).toHaveBeenCalledWith([2, 7, 32], true);
  log.mockRestore();
});
