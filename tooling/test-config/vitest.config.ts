import { browserTestConfig } from './index.js';

export default browserTestConfig();
