// Builds the publishable package: ESM JavaScript, declarations and source maps
// in dist/ from src/ alone (tsconfig.build.json leaves tests and examples out).
// A fresh dist/ each time, so a file deleted from src/ never ships stale.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: packageDir,
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
// The bin: npm sets the mode on install, but a direct run from dist/ should work too.
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
// Modules started by URL rather than imported, which nothing else would notice missing:
// BlockingRemotingClient starts its worker thread from this file beside it.
for (const loadedByUrl of ['../dist/blocking/blocking-worker.js']) {
  if (!existsSync(new URL(loadedByUrl, import.meta.url))) {
    console.error(`build: ${loadedByUrl} is missing from the build`);
    process.exit(1);
  }
}
