import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

export default mergeConfig(packageTestConfig('remoting'), {
  // The child programs tests start (the CLI, fixtures), bundled once per run.
  test: { globalSetup: ['test/support/child-bundles.ts'] },
});
