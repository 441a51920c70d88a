import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The vitest settings every package shares. When VITEST_JSON_DIR is set (by
 * .ci/run), each package also writes a JSON report there so CI can print one
 * summary line for the whole workspace.
 */
export function packageTestConfig(packageName: string) {
  const jsonDir = process.env.VITEST_JSON_DIR;
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      reporters: jsonDir ? ['default', 'json'] : ['default'],
      outputFile: jsonDir ? { json: path.join(jsonDir, `${packageName}.json`) } : undefined,
    },
  });
}
