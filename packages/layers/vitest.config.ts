import { fileURLToPath } from 'node:url';
import { browserTestConfig, nodeTestConfig } from '@elementwise/test-config';
import { defineConfig } from 'vitest/config';

// Examples import the package by name, as users do; tests resolve that name to the sources.
const resolve = {
  alias: { '@elementwise/layers': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
};
const node = nodeTestConfig();
const browser = await browserTestConfig();

export default defineConfig({
  test: {
    projects: [
      { resolve, test: { ...node.test, name: 'node' } },
      { resolve, test: { ...browser.test, name: 'chromium' } },
    ],
  },
});
