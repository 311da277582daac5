import { nodeTestConfig } from '@elementwise/test-config';

export default nodeTestConfig();
