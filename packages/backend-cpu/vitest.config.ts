import { nodeAndBrowserTestConfig } from '@elementwise/test-config';

export default nodeAndBrowserTestConfig(new URL('.', import.meta.url));
