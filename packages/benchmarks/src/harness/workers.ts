/**
 * Parent side of the worker processes: forking, request/response over IPC,
 * and making sure every child dies with the run, whichever way it ends.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImplName, RunSample } from '../types.js';
import type { CodecCaseSpec, InvokeCaseSpec, RunEdge, WorkerMessage, WorkerRole } from './ipc.js';

const WORKER_TS = fileURLToPath(new URL('./worker.ts', import.meta.url));
const live = new Set<WorkerProcess>();

/** A bundle is plain JavaScript; worker.ts needs the TypeScript loader the parent runs under (tsx). */
function loaderFlags(entry: string): string[] {
  if (!entry.endsWith('.ts')) return [];
  if (process.execArgv.some((flag) => flag.includes('tsx'))) {
    return process.execArgv.filter((flag) => !flag.startsWith('--cpu-prof'));
  }
  return ['--import', import.meta.resolve('tsx')];
}

/**
 * Node flags for a worker: its loader, plus --cpu-prof when profiling. Profiles
 * are written on a normal exit only, which is why workers are stopped by
 * message and killed only as a fallback.
 */
function workerExecArgv(entry: string, name: string, profileDir: string | undefined): string[] {
  const loader = loaderFlags(entry);
  if (profileDir === undefined) return loader;
  // A directory per worker and V8's own file names: with tsx, the module loader's
  // hooks thread writes a profile too, and a fixed name would let it overwrite the
  // main thread's (V8 names carry the thread id; the main thread's is 0).
  return [...loader, '--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`];
}

export interface WorkerOptions {
  /** The worker script: worker.ts through tsx by default, or a bundle of it (--bundle). */
  entry?: string;
  /** Where --cpu-prof writes, one folder per worker. */
  profileDir?: string;
}

interface PendingRun {
  resolve(runs: RunSample[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class WorkerProcess {
  readonly name: string;
  /** Resolves with the server's port (undefined for clients) once the worker is ready. */
  readonly ready: Promise<number | undefined>;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, PendingRun>();
  private readonly pendingCpu = new Map<number, (cpuUs: number) => void>();
  /** Hears a client's run edges during a case (see WorkerPool.pair's caller). */
  onMark: ((run: number, edge: RunEdge) => void) | null = null;
  private lastId = 0;
  private exited = false;

  /** `serverWorkers`: a server run by that many processes under node:cluster (this one their primary). */
  constructor(
    role: WorkerRole,
    impl: ImplName | undefined,
    options: WorkerOptions = {},
    serverWorkers?: number,
  ) {
    this.name =
      impl === undefined ? role : `${role}-${impl}${serverWorkers === undefined ? '' : `-x${serverWorkers}`}`;
    const entry = options.entry ?? WORKER_TS;
    const args: string[] = impl === undefined ? [role] : [role, impl];
    if (serverWorkers !== undefined) args.push(String(serverWorkers));
    this.child = fork(entry, args, {
      execArgv: workerExecArgv(entry, this.name, options.profileDir),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this);
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'ready') resolve(message.port);
        else if (message.type === 'fatal')
          reject(new Error(`${this.name} failed to start: ${message.message}`));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code, signal) =>
        reject(new Error(`${this.name} exited before it was ready (${signal ?? `code ${code}`})`)),
      );
    });
    // The ready promise may be abandoned if the run is interrupted; its rejection is not news.
    this.ready.catch(() => {});
    this.child.on('message', (message: WorkerMessage) => this.onMessage(message));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(this);
      this.failAll(new Error(`${this.name} exited (${signal ?? `code ${code}`})`));
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === 'mark') {
      this.onMark?.(message.run, message.edge);
      return;
    }
    if (message.type === 'cpu') {
      this.pendingCpu.get(message.id)?.(message.cpuUs);
      this.pendingCpu.delete(message.id);
      return;
    }
    if (message.type !== 'run-done' && message.type !== 'run-failed') return;
    const run = this.pending.get(message.id);
    if (run === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(run.timer);
    if (message.type === 'run-done') run.resolve(message.runs);
    else run.reject(new Error(message.message));
  }

  private failAll(error: Error): void {
    for (const run of this.pending.values()) {
      clearTimeout(run.timer);
      run.reject(error);
    }
    this.pending.clear();
  }

  private run(
    message:
      | { type: 'run-invoke'; port: number; spec: InvokeCaseSpec }
      | { type: 'run-codec'; spec: CodecCaseSpec },
    timeoutMs: number,
  ): Promise<RunSample[]> {
    if (this.exited) return Promise.reject(new Error(`${this.name} is not running`));
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name} did not finish its case within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ ...message, id });
    });
  }

  /** This worker's CPU time so far, in µs; NaN if it cannot answer within a second. */
  cpu(): Promise<number> {
    if (this.exited || !this.child.connected) return Promise.resolve(Number.NaN);
    const id = ++this.lastId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingCpu.delete(id);
        resolve(Number.NaN);
      }, 1000);
      this.pendingCpu.set(id, (cpuUs) => {
        clearTimeout(timer);
        resolve(cpuUs);
      });
      this.child.send({ type: 'cpu', id });
    });
  }

  runInvoke(port: number, spec: InvokeCaseSpec, timeoutMs: number): Promise<RunSample[]> {
    return this.run({ type: 'run-invoke', port, spec }, timeoutMs);
  }

  runCodec(spec: CodecCaseSpec, timeoutMs: number): Promise<RunSample[]> {
    return this.run({ type: 'run-codec', spec }, timeoutMs);
  }

  /** Asks the worker to exit (so profiles get written); kills it if it has not within `graceMs`. */
  stop(graceMs = 3000): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.kill(), graceMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.child.connected) this.child.send({ type: 'stop' });
      else this.kill();
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** Kills every worker still running. Synchronous, so it is safe inside an 'exit' handler. */
export function killAllWorkers(): void {
  for (const worker of live) worker.kill();
}

let handlersInstalled = false;

/** Every path out of the parent takes the children with it: normal exit, Ctrl-C, SIGTERM, a crash. */
export function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllWorkers);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAllWorkers();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

function serverKey(impl: ImplName, serverWorkers: number | undefined): string {
  return serverWorkers === undefined ? impl : `${impl} x${serverWorkers}`;
}

/**
 * The workers of a run: one server and one client process per implementation,
 * started on first use and kept for every case (start-up is paid once), plus
 * one codec process. A failed case resets its implementation's pair so the
 * next case starts clean.
 */
export class WorkerPool {
  /** By implementation, and by worker count for servers under node:cluster ("raw-net x2"). */
  private readonly servers = new Map<string, WorkerProcess>();
  private readonly clients = new Map<string, WorkerProcess>();
  private codecWorker: WorkerProcess | null = null;

  constructor(private readonly options: WorkerOptions = {}) {}

  private obtain(
    map: Map<string, WorkerProcess>,
    role: WorkerRole,
    impl: ImplName,
    serverWorkers?: number,
  ): WorkerProcess {
    const key = serverKey(impl, serverWorkers);
    let worker = map.get(key);
    if (worker === undefined || !worker.alive) {
      worker = new WorkerProcess(role, impl, this.options, serverWorkers);
      map.set(key, worker);
    }
    return worker;
  }

  /**
   * The server and client for `impl`, both ready; resolves with the server's
   * port. With `serverWorkers`, the server runs that many processes under
   * node:cluster; the client process is the implementation's one either way.
   */
  async pair(
    impl: ImplName,
    serverWorkers?: number,
  ): Promise<{ port: number; client: WorkerProcess; server: WorkerProcess }> {
    const server = this.obtain(this.servers, 'server', impl, serverWorkers);
    const client = this.obtain(this.clients, 'client', impl);
    const [port] = await Promise.all([server.ready, client.ready]);
    if (port === undefined) throw new Error(`server-${impl} reported no port`);
    return { port, client, server };
  }

  async codec(): Promise<WorkerProcess> {
    if (this.codecWorker === null || !this.codecWorker.alive) {
      this.codecWorker = new WorkerProcess('codec', undefined, this.options);
    }
    await this.codecWorker.ready;
    return this.codecWorker;
  }

  /** Starts the pairs of several implementations at once: their start-up overlaps. */
  async warm(impls: readonly ImplName[]): Promise<void> {
    await Promise.allSettled(impls.map((impl) => this.pair(impl)));
  }

  reset(impl: ImplName, serverWorkers?: number): void {
    const key = serverKey(impl, serverWorkers);
    this.servers.get(key)?.kill();
    this.clients.get(impl)?.kill();
    this.servers.delete(key);
    this.clients.delete(impl);
  }

  async stopAll(): Promise<void> {
    const all = [...this.servers.values(), ...this.clients.values()];
    if (this.codecWorker !== null) all.push(this.codecWorker);
    // Clients first: a server stopping under a live client would turn its close into errors.
    await Promise.all([...this.clients.values()].map((w) => w.stop()));
    await Promise.all(all.map((w) => w.stop()));
  }
}
