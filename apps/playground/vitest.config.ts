import { nodeTestConfig } from '@elementwise/test-config';

// The browser test drives the built app on three backends, one after another, on software GPUs;
// in CI it shares 2 cores with every other package's tests, so its limits are generous.
export default nodeTestConfig({ testTimeout: 900_000, hookTimeout: 120_000 });
