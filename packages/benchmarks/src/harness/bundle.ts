/**
 * `--bundle`: runs the workers from an esbuild bundle of worker.ts instead of
 * through tsx. tsx transforms with esbuild's keepNames, which wraps every named
 * closure in `__name(fn, "name")` (an Object.defineProperty) each time the
 * closure is created; in a per-message hot path that is a real cost, and one
 * that code compiled with tsc, or run by Node's own type stripping, does not
 * pay. Comparing both runs separates the framework's cost from the loader's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds the worker bundle; resolves with its path. BlockingRemotingClient
 * starts its worker thread from `blocking-worker.js` beside the module that
 * holds it (here, the bundle), so the package's `blocking-worker` entry is
 * bundled there too, as the remoting README tells a bundling user to do.
 */
export async function bundleWorker(): Promise<string> {
  // Inside the package's node_modules so the externals below resolve from the bundle.
  const outDir = path.join(PACKAGE_DIR, 'node_modules', '.cache', 'remoting-ts-bench');
  await mkdir(outDir, { recursive: true });
  // ES modules named .js: nothing above this folder (node_modules) says "type": "module".
  await writeFile(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  await build({
    entryPoints: {
      worker: fileURLToPath(new URL('./worker.ts', import.meta.url)),
      'blocking-worker': '@remoting-ts/remoting/blocking-worker',
    },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: false,
    // The workspace's remoting sources, not a built dist/ (see the root README).
    conditions: ['@remoting-ts/source'],
    sourcemap: false,
    // CommonJS baselines stay outside the bundle; the framework and its dependencies go in.
    external: ['@grpc/grpc-js', 'hdr-histogram-js'],
    logLevel: 'warning',
  });
  return path.join(outDir, 'worker.js');
}
