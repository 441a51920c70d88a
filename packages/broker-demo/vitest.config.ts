import { packageTestConfig } from '../../vitest.shared.js';

export default packageTestConfig('broker-demo');
