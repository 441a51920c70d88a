/**
 * Where the blocking client's worker thread starts from. This package runs in
 * three ways, and `new Worker(...)` needs something different in each:
 *
 * 1. Built, as npm installs it: this module is `dist/blocking/worker-launch.js`
 *    and the entry is the compiled `blocking-worker.js` beside it, found with
 *    `new URL('./blocking-worker.js', import.meta.url)`. That holds when the
 *    package is imported and when it is loaded with `require()` (Node 20.19+
 *    requires ES modules; `import.meta.url` is set all the same). A bundle that
 *    inlines this module has the bundle's URL here: emit the entry
 *    (`@remoting-ts/remoting/blocking-worker`) as `blocking-worker.js` next to
 *    the bundle, or pass `workerUrl`.
 * 2. From the TypeScript sources through tsx (this workspace's scripts): this
 *    module is `worker-launch.ts`. A Worker does not inherit the parent
 *    thread's tsx hooks for its entry module: `new Worker('…/blocking-worker.ts')`
 *    fails with "Unknown file extension .ts" even with tsx in execArgv
 *    (Node 20.20).
 * 3. From the sources under vitest: vitest transforms what the tests import in
 *    its own module runner, which a Worker, a fresh thread, knows nothing of.
 *
 * Cases 2 and 3 are one case: a `.ts` URL here means the sources are running,
 * and the worker starts from a few lines of JavaScript (a `data:` module) that register
 * tsx's ESM hooks in the new thread (`tsx/esm/api` register()) and then
 * import `blocking-worker.ts`. tsx is a devDependency: only this workspace runs the
 * sources, and the published package ships no `.ts`. Should loading fail, those
 * lines report it the way the worker reports its death (a `fatal` message,
 * WORKER_STATE EXITED, NOTIFY bumped), so the caller does not wait for a
 * worker that will never answer.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Slot, WorkerState } from './thread-protocol.js';

/** The module the worker thread starts from: `workerUrl` when given, else the entry beside this module. */
export function workerEntry(workerUrl?: string | URL): URL {
  if (workerUrl !== undefined) {
    const url = toUrl(workerUrl);
    return url.pathname.endsWith('.ts') ? fromSources(url) : fromFile(url, 'the workerUrl option');
  }
  const here = import.meta.url;
  if (here.endsWith('.ts')) return fromSources(new URL('./blocking-worker.ts', here));
  return fromFile(new URL('./blocking-worker.js', here), `the module ${here}`);
}

function toUrl(location: string | URL): URL {
  if (location instanceof URL) return location;
  return /^[a-z][a-z0-9+.-]*:/i.test(location) && !/^[a-z]:[\\/]/i.test(location)
    ? new URL(location)
    : pathToFileURL(location);
}

function fromFile(entry: URL, besideWhat: string): URL {
  if (entry.protocol === 'file:' && !existsSync(fileURLToPath(entry))) {
    throw new Error(
      `BlockingRemotingClient: its worker entry ${entry.href} (found from ${besideWhat}) does not exist. ` +
        'A bundled application must ship @remoting-ts/remoting/blocking-worker as blocking-worker.js next to ' +
        'the bundle, or pass workerUrl.',
    );
  }
  return entry;
}

function fromSources(entry: URL): URL {
  let tsxApi: string;
  try {
    // The ES module build: tsx's CommonJS API registers its hooks from a path that does not
    // exist, and its main export (what `--import tsx` loads) registers nothing in a worker.
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch (cause) {
    throw new Error(
      `BlockingRemotingClient runs from its TypeScript sources (${entry.href}) and needs tsx to load them ` +
        'in its worker thread; install tsx, or use the built package',
      { cause },
    );
  }
  const code = `import { workerData } from 'node:worker_threads';
try {
  const tsx = await import(${JSON.stringify(tsxApi)});
  tsx.register();
  await import(${JSON.stringify(entry.href)});
} catch (error) {
  const message = 'the blocking client worker failed to load: ' + String((error && error.stack) || error);
  const fatal = { name: 'Error', message, stack: undefined, fields: {}, hasCause: false };
  workerData.port.postMessage({ type: 'fatal', error: fatal });
  const state = new Int32Array(workerData.state);
  Atomics.store(state, ${Slot.WORKER_STATE}, ${WorkerState.EXITED});
  Atomics.add(state, ${Slot.NOTIFY}, 1);
  Atomics.notify(state, ${Slot.NOTIFY});
}
`;
  // A data: URL module rather than `eval` code: Node 20 runs a worker's --import preloads
  // (workerExecArgv) before a module entry, but not before eval code.
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
