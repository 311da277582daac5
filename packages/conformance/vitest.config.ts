import { fileURLToPath } from 'node:url';
import { browserTestConfig, nodeTestConfig } from '@elementwise/test-config';
import { defineConfig } from 'vitest/config';

// Test files import the kit by name, as adapters do; the name resolves to the sources here.
const resolve = {
  alias: { '@elementwise/conformance': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
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
