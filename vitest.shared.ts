import path from 'node:path';
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * The export condition under which @remoting-ts/remoting resolves to its
 * TypeScript sources (src/index.ts) instead of the built dist/: the workspace
 * runs without a build step. tsc reads it from tsconfig.base.json
 * (customConditions), tsx and child processes from NODE_OPTIONS (.npmrc).
 */
export const SOURCE_CONDITION = '@remoting-ts/source';

/**
 * The vitest settings every package shares. When VITEST_JSON_DIR is set (by
 * scripts/test-workspace.mjs, the root `pnpm test`), each package also writes
 * a JSON report there, from which one summary line for the whole workspace is
 * printed.
 */
export function packageTestConfig(packageName: string) {
  const jsonDir = process.env.VITEST_JSON_DIR;
  return defineConfig({
    resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] },
    ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
    test: {
      // Child processes the tests spawn (node --import tsx ...) resolve the sources too.
      env: { NODE_OPTIONS: withSourceCondition(process.env.NODE_OPTIONS) },
      include: ['test/**/*.test.ts'],
      // Generous: on a loaded 2-core machine a test that takes 1 s alone can take 20.
      // A test whose subject is time bounds it itself, not through this.
      testTimeout: 120_000,
      hookTimeout: 120_000,
      reporters: jsonDir ? ['default', 'json'] : ['default'],
      outputFile: jsonDir ? { json: path.join(jsonDir, `${packageName}.json`) } : undefined,
    },
  });
}

function withSourceCondition(nodeOptions: string | undefined): string {
  const flag = `--conditions=${SOURCE_CONDITION}`;
  if (nodeOptions?.includes(flag)) return nodeOptions;
  return nodeOptions ? `${nodeOptions} ${flag}` : flag;
}
