import { nodeAndBrowserTestConfig } from '@elementwise/test-config';

// Examples import the package by name, as users do; tests resolve that name to the sources.
export default nodeAndBrowserTestConfig(new URL('.', import.meta.url), {
  packageName: '@elementwise/layers',
});
