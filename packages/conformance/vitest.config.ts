import { nodeAndBrowserTestConfig } from '@elementwise/test-config';

// Test files import the kit by name, as adapters do; the name resolves to the sources here.
export default nodeAndBrowserTestConfig(new URL('.', import.meta.url), {
  packageName: '@elementwise/conformance',
});
