/**
 * Vitest global setup: bundles, once per test run, the programs the tests
 * start as child processes (the `remoting` CLI and two test fixtures) into a
 * temp dir, so each child is a plain `node file.mjs`.
 *
 * Why: through tsx, every child paid tsx's start-up (its loader thread and
 * on-the-fly compilation), about 350 ms of CPU on a quiet machine against
 * about 100 ms for the bundle; with a dozen children started at once on a
 * loaded 2-core machine, that was 15–23 s per CLI call and tests killed by
 * their timeouts. esbuild compiles the same sources tsx would (it is tsx's
 * compiler), with the `@remoting-ts/source` condition, dependencies included.
 * The package as users get it (tsc's dist/ and its bin) is tested by
 * packaging.test.ts; the documented tsx commands by examples.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** Entry points by the name tests ask for them with (`childEntry(name)`). */
export const CHILD_ENTRIES = {
  cli: 'src/cli/main.ts',
  'killable-server': 'test/fixtures/killable-server.ts',
  'oneway-flooder': 'test/support/oneway-flooder.ts',
} as const;

export type ChildName = keyof typeof CHILD_ENTRIES;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of each bundled child program. */
    childBundles: Record<ChildName, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'remoting-test-children-'));
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(CHILD_ENTRIES).map(([name, entry]) => [name, path.join(PACKAGE_DIR, entry)]),
    ),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@remoting-ts/source'],
    // Stack traces and error names as in the sources.
    sourcemap: 'inline',
    keepNames: true,
    logLevel: 'warning',
  });
  const bundles = Object.fromEntries(
    Object.keys(CHILD_ENTRIES).map((name) => [name, path.join(outdir, `${name}.mjs`)]),
  ) as Record<ChildName, string>;
  project.provide('childBundles', bundles);
  return () => rmSync(outdir, { recursive: true, force: true });
}
