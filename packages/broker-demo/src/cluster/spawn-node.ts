import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop as stopEsbuild } from 'esbuild';
import { isReadyMessage, type ReadyMessage } from './child-protocol.js';

/** The broker-demo package directory: children run from it. */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** Where the children's bundles go: inside the package, so nothing outside it is written. */
const BUNDLE_DIR = path.join(PACKAGE_DIR, 'node_modules', '.cache', 'broker-demo-children');

/** One bundle build per entry point per process; every child of that entry starts from it. */
const bundles = new Map<string, Promise<string>>();

/**
 * The entry point as an esbuild bundle of it, the remoting sources and the
 * dependencies (one file, plus a chunk per module imported on demand),
 * built once per process and kept in a directory named by a hash of its
 * content, so parallel test workers never write over a bundle another one
 * is starting from.
 *
 * Why not `node --import tsx entry.ts` per child: tsx loads esbuild and
 * transforms every module in every child. Measured on this 2-core machine
 * (controller entry, from spawn to its READY line, 3 runs each): 400 to
 * 1400 ms through tsx, 100 to 130 ms from the bundle. Tests and scenarios
 * start and restart dozens of brokers; under load the difference decides
 * whether a restart fits inside a session timeout.
 */
export function bundledEntry(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (bundle === undefined) {
    building++;
    bundle = bundleEntry(entry).finally(() => {
      // esbuild's API runs a service process; it is not needed once the bundles are built.
      if (--building === 0) void stopEsbuild();
    });
    bundles.set(entry, bundle);
    // A failed build is not cached: the next child tries again.
    bundle.catch(() => bundles.delete(entry));
  }
  return bundle;
}

/** Bundle builds in progress. */
let building = 0;

/**
 * Packages left out of the bundles, loaded by Node from node_modules when
 * used. etcd3 reads its protocol definitions from a file beside its own
 * sources (`${__dirname}/../proto/rpc.proto`), which a bundle cannot give it.
 * It is imported only by the modules an etcd-coordinated broker loads on
 * demand (see broker-command.ts), which code splitting puts into a chunk of
 * their own: a broker of the built-in controller never loads it.
 */
const NOT_BUNDLED = ['etcd3'];

async function bundleEntry(entry: string): Promise<string> {
  const name = path.basename(entry, path.extname(entry));
  const result = await build({
    entryPoints: { [name]: entry },
    bundle: true,
    // Modules imported on demand become chunks of their own, loaded only when imported.
    splitting: true,
    outdir: BUNDLE_DIR,
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // As tsx runs the sources: error and class names stay what the code says.
    keepNames: true,
    // The workspace's remoting sources, not a built dist/ (see the root README).
    conditions: ['@remoting-ts/source'],
    external: NOT_BUNDLED,
    // Bundled CommonJS dependencies may require Node's builtins, which ESM has no `require` for.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    sourcemap: 'inline',
    write: false,
    logLevel: 'warning',
  });
  // One directory per build, named by a hash of every file in it: parallel test workers never
  // write over files another one is starting from, and a chunk's relative imports stay valid.
  const hash = createHash('sha256');
  for (const file of result.outputFiles)
    hash.update(path.relative(BUNDLE_DIR, file.path)).update(file.contents);
  const dir = path.join(
    BUNDLE_DIR,
    `${path.basename(path.dirname(entry))}-${name}-${hash.digest('hex').slice(0, 16)}`,
  );
  if (!existsSync(dir)) {
    const temp = `${dir}.${process.pid}.tmp`;
    await rm(temp, { recursive: true, force: true });
    for (const file of result.outputFiles) {
      const target = path.join(temp, path.relative(BUNDLE_DIR, file.path));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.contents);
    }
    try {
      await rename(temp, dir);
    } catch (err) {
      // Another process put the same build there first: theirs is as good as ours.
      await rm(temp, { recursive: true, force: true });
      if (!existsSync(dir)) throw err;
    }
  }
  return path.join(dir, `${name}.mjs`);
}

export function entryPoint(relativeToSrc: string): string {
  return path.join(PACKAGE_DIR, 'src', relativeToSrc);
}

export class ChildStartError extends Error {
  readonly code = 'CHILD_START';
  constructor(message: string) {
    super(message);
    this.name = 'ChildStartError';
  }
}

/**
 * Starts a TypeScript entry point as a separate Node process (from its
 * bundle: see `bundledEntry`), its output appended to `logFile`, and waits
 * for its ready message over IPC.
 */
export async function spawnNode(
  entry: string,
  args: string[],
  logFile: string,
  readyTimeoutMs = 20_000,
): Promise<{ child: ChildProcess; ready: ReadyMessage }> {
  const name = path.relative(path.join(PACKAGE_DIR, 'src'), entry);
  const bundle = await bundledEntry(entry);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--enable-source-maps', bundle, ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', fd, fd, 'ipc'],
    });
  } finally {
    closeSync(fd);
  }
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(
        new ChildStartError(`${name} did not report ready within ${readyTimeoutMs} ms (see ${logFile})`),
      );
    }, readyTimeoutMs);
    const onMessage = (msg: unknown) => {
      if (!isReadyMessage(msg)) return;
      cleanup();
      resolve(msg);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(
        new ChildStartError(
          `${name} exited (${signal ?? code}) before ready; the end of ${logFile}:\n${tail(logFile, 5)}`,
        ),
      );
    };
    function cleanup() {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  return { child, ready };
}

/** The last `lines` lines of a file, indented, for an error message. */
function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
    return text.map((line) => `  ${line}`).join('\n');
  } catch {
    return '  (unreadable)';
  }
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Stops a child for good: SIGCONT first (a stopped process cannot act on
 * SIGTERM), then SIGTERM, then SIGKILL if it has not gone within `graceMs`.
 */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}
