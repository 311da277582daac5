import { browserTestConfig, nodeTestConfig } from '@elementwise/test-config';
import { defineConfig } from 'vitest/config';

const node = nodeTestConfig();
const browser = await browserTestConfig();

export default defineConfig({
  test: {
    projects: [
      { test: { ...node.test, name: 'node' } },
      { test: { ...browser.test, name: 'chromium' } },
    ],
  },
});
