import { browserTestConfig } from '@elementwise/test-config';

// WebGL runs only in a browser here (no Node WebGL context), so every test of this package runs
// in headless Chromium.
export default browserTestConfig();
