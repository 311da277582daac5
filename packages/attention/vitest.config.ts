import { fileURLToPath } from 'node:url';
import { nodeTestConfig } from '@elementwise/test-config';

const config = nodeTestConfig();
// Examples import the package by name, as users do; tests resolve that name to the sources.
config.resolve = {
  alias: { '@elementwise/attention': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
};
export default config;
