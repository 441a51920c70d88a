import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { EndpointStats } from '../remoting/remoting-endpoint.js';
import type { HostPort } from '../transport/connect.js';
import { ClusterRestartLimitError, ClusterWorkerStartError } from './errors.js';
import {
  CLUSTER_CHANNEL,
  ClusterEnv,
  deserializeError,
  isClusterMessage,
  type PrimaryToWorker,
  type WorkerFigures,
  type WorkerToPrimary,
} from './messages.js';
import { type ClusterRestartOptions, RestartPolicy } from './restart-policy.js';

/** Settings of {@link startServerCluster}. Every field is optional. */
export interface ServerClusterOptions {
  /** Worker processes, each running one RemotingServer. Default `os.availableParallelism()`. */
  workers?: number;
  /** Interface every worker binds. Default 127.0.0.1. */
  host?: string;
  /**
   * Port every worker shares; 0 (the default) lets the OS choose one when the
   * first worker listens, and the cluster keeps it for its whole life.
   */
  port?: number;
  /** Script the workers run (`cluster.setupPrimary({ exec })`). Default: this process's main script. */
  exec?: string;
  /** Arguments of the worker script. Default: this process's. */
  args?: string[];
  /** Node flags of the workers (a loader such as `--import tsx`). Default: this process's. */
  execArgv?: string[];
  /** Environment added to the workers' (which otherwise is this process's). */
  env?: Record<string, string>;
  /** How workers that die are replaced. */
  restart?: ClusterRestartOptions;
  /** How long a worker may take from fork to listening before it counts as failed. Default 60 000. */
  startTimeoutMs?: number;
  /**
   * What each worker's graceful `RemotingServer.shutdown({ graceful: true, graceMs })` gets as
   * `graceMs` when the cluster stops it (a rolling restart or a shutdown): new requests meanwhile
   * are answered GO_AWAY or SYSTEM_BUSY. Default 5000.
   */
  shutdownGraceMs?: number;
  /** How long after its grace period a stopping worker may take to exit before it is killed. Default 5000. */
  killAfterMs?: number;
}

/** A worker that serves. */
export interface ClusterWorkerInfo {
  /** Its place in the cluster, 0..workers-1. */
  slot: number;
  /** `cluster.Worker.id`: unique to the process, never reused. */
  workerId: number;
  /** OS process id. */
  pid: number;
  /** Where its server listens: the cluster's address. */
  address: HostPort;
  /** When it reported listening (`Date.now()`). */
  listeningSince: number;
}

/** One worker's figures, from {@link ServerCluster.stats}. */
export interface ClusterWorkerStats {
  /** Its place in the cluster, 0..workers-1. */
  slot: number;
  /** `cluster.Worker.id`. */
  workerId: number;
  /** OS process id. */
  pid: number;
  /** Its server's `stats()`: connections, calls in flight, requests served per code. */
  server: EndpointStats;
  /** Its `process.cpuUsage()`: CPU time since it started. */
  cpuUsage: {
    /** User CPU time, in µs. */
    user: number;
    /** System CPU time, in µs. */
    system: number;
  };
  /** Its resident set size, in bytes. */
  rssBytes: number;
}

/**
 * Why a worker exited: the cluster stopped it (shutdown, a rolling restart);
 * it died on its own; or it never started serving.
 */
export type ClusterWorkerExitReason = 'stopped' | 'died' | 'start-failed';

/** A worker process that exited, and what the cluster does about it. */
export interface ClusterWorkerExit {
  /** Its place in the cluster. */
  slot: number;
  /** `cluster.Worker.id`. */
  workerId: number;
  /** OS process id (undefined when the fork itself failed). */
  pid: number | undefined;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** Why it exited. */
  reason: ClusterWorkerExitReason;
  /** When a replacement will be forked, in milliseconds from now; null when none will. */
  restartInMs: number | null;
  /** For 'start-failed': what went wrong. */
  error?: ClusterWorkerStartError;
}

/** Events of a {@link ServerCluster}. */
export interface ServerClusterEvents {
  /**
   * A worker listens and takes connections. The first workers' events fire
   * before `startServerCluster()` resolves (`workers()` lists them); later
   * ones are replacements and rolling-restart successors.
   */
  workerListening: [worker: ClusterWorkerInfo];
  /** A worker process exited. */
  workerExit: [exit: ClusterWorkerExit];
}

type WorkerState = 'starting' | 'listening' | 'stopping' | 'exited';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever needs the outcome awaits it; an outcome nobody awaited is not an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** One forked process and what the primary knows of it. */
interface WorkerRecord {
  readonly slot: Slot;
  readonly worker: Worker;
  /** The port it was told to listen on: 0, or the cluster's port. */
  readonly listenPort: number;
  state: WorkerState;
  info: ClusterWorkerInfo | null;
  startError: ClusterWorkerStartError | null;
  /** The cluster asked it to stop (or killed it); its exit is expected. */
  stopRequested: boolean;
  readonly listening: Deferred<ClusterWorkerInfo>;
  readonly exited: Deferred<void>;
  readonly timers: NodeJS.Timeout[];
  readonly statsRequests: Map<number, (figures: WorkerFigures | null) => void>;
}

/** A place in the cluster: the worker serving it, and the one that will take over. */
interface Slot {
  readonly index: number;
  current: WorkerRecord | null;
  incoming: WorkerRecord | null;
  restartTimer: NodeJS.Timeout | null;
}

type Phase = 'starting' | 'running' | 'stopping' | 'stopped';

function describeExit(code: number | null, signal: string | null): string {
  return signal === null ? `exit code ${code}` : `signal ${signal}`;
}

/**
 * N worker processes serving one address with a RemotingServer each, under
 * node:cluster (what Netty's worker EventLoopGroup is to one JVM: Node has one
 * event loop per process, so more cores mean more processes). The primary
 * accepts every connection and hands it to a worker in turn (the cluster's
 * round-robin; Node 20 has no `reusePort`); a connection stays with its
 * worker for life. Workers that die are replaced (see
 * {@link ClusterRestartOptions}). Made by {@link startServerCluster}; each
 * worker runs {@link runClusterWorker}.
 */
export class ServerCluster extends EventEmitter<ServerClusterEvents> {
  private readonly options: ServerClusterOptions;
  private readonly slots: Slot[];
  private readonly records = new Set<WorkerRecord>();
  private readonly policy: RestartPolicy;
  private phase: Phase = 'starting';
  private sharedAddress: HostPort | null = null;
  private lastStatsRequest = 0;
  private readonly stopped = deferred<void>();
  private stopping: Promise<void> | null = null;

  /** Use {@link startServerCluster}, which also waits for every worker to listen. */
  private constructor(options: ServerClusterOptions) {
    super();
    this.options = options;
    this.policy = new RestartPolicy(options.restart);
    const workers = options.workers ?? os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1)
      throw new RangeError(`workers must be an integer ≥ 1, got ${workers}`);
    this.slots = Array.from({ length: workers }, (_, index) => ({
      index,
      current: null,
      incoming: null,
      restartTimer: null,
    }));
  }

  /** @internal startServerCluster's body: fork every worker and wait until all listen. */
  static async start(options: ServerClusterOptions): Promise<ServerCluster> {
    if (!cluster.isPrimary)
      throw new Error('startServerCluster() runs in the primary; workers call runClusterWorker()');
    const serverCluster = new ServerCluster(options);
    const listening = serverCluster.slots.map((slot) => serverCluster.fork(slot).listening.promise);
    try {
      await Promise.all(listening);
    } catch (error) {
      await serverCluster.shutdown();
      throw error;
    }
    serverCluster.phase = 'running';
    return serverCluster;
  }

  /** The address every worker listens on (the OS-chosen port when started with port 0). */
  address(): HostPort {
    if (this.sharedAddress === null) throw new Error('the cluster is not listening');
    return { ...this.sharedAddress };
  }

  /** The workers serving now, by slot. A slot whose worker is being replaced is absent until it listens again. */
  workers(): ClusterWorkerInfo[] {
    const serving: ClusterWorkerInfo[] = [];
    for (const slot of this.slots) {
      const info = slot.current?.state === 'listening' ? slot.current.info : null;
      if (info !== null) serving.push({ ...info, address: { ...info.address } });
    }
    return serving;
  }

  /**
   * Each serving worker's figures: its server's `stats()`, CPU time and
   * memory. A worker that exits before it answers is left out.
   * @throws Error when a worker does not answer within `timeoutMs` (default 5000).
   */
  async stats(timeoutMs = 5000): Promise<ClusterWorkerStats[]> {
    const serving = this.slots
      .map((slot) => slot.current)
      .filter((record): record is WorkerRecord => record?.state === 'listening');
    const answers = await Promise.all(
      serving.map(async (record) => {
        const figures = await this.requestStats(record, timeoutMs);
        if (figures === null || record.info === null) return null;
        const { slot, workerId, pid } = record.info;
        return { slot, workerId, pid, ...figures };
      }),
    );
    return answers.filter((answer): answer is ClusterWorkerStats => answer !== null);
  }

  /**
   * Replaces the worker of `slot` without a gap (a rolling restart, to load
   * new code): forks its successor, waits until it listens, then stops the old
   * one gracefully. Not counted against the restart limit.
   * @throws ClusterWorkerStartError when the successor does not start (the old worker keeps serving).
   */
  async restartWorker(slot: number): Promise<ClusterWorkerInfo> {
    const target = this.slots[slot];
    if (target === undefined) throw new RangeError(`no slot ${slot}: the cluster has ${this.slots.length}`);
    if (this.phase !== 'running') throw new Error(`the cluster is ${this.phase}`);
    if (target.incoming !== null) throw new Error(`slot ${slot} is already being replaced`);
    // A slot waiting out a back-off gets its worker now instead.
    if (target.restartTimer !== null) clearTimeout(target.restartTimer);
    target.restartTimer = null;
    return this.fork(target).listening.promise;
  }

  /**
   * Stops every worker: each stops accepting, answers new requests GO_AWAY
   * (or SYSTEM_BUSY), lets requests already read finish (up to
   * `shutdownGraceMs`), closes its connections and exits; one
   * still alive `killAfterMs` later is killed. A second call waits for the first.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stopAll(null);
    return this.stopping;
  }

  /**
   * Resolves once the cluster has stopped after `shutdown()`; rejects with
   * ClusterRestartLimitError when it stopped because workers kept dying.
   */
  whenStopped(): Promise<void> {
    return this.stopped.promise;
  }

  private async stopAll(failure: ClusterRestartLimitError | null): Promise<void> {
    this.phase = 'stopping';
    for (const slot of this.slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
    }
    const records = [...this.records];
    for (const record of records) this.requestStop(record);
    await Promise.all(records.map((record) => record.exited.promise));
    this.phase = 'stopped';
    if (failure === null) this.stopped.resolve();
    else this.stopped.reject(failure);
  }

  /**
   * The port a new worker must ask for. node:cluster keys a shared listener by
   * its listen() arguments: a worker asking for the chosen port by number
   * while others hold it as "port 0" would try to bind it a second time
   * (EADDRINUSE). So a new worker asks as the serving ones did; only when none
   * serves (every listener is gone, so port 0 would bring a new port) does it
   * ask for the cluster's port by number.
   */
  private portForNewWorker(): number {
    for (const record of this.records) {
      if (record.state === 'listening') return record.listenPort;
    }
    return this.sharedAddress?.port ?? this.options.port ?? 0;
  }

  private fork(slot: Slot): WorkerRecord {
    const { exec, args, execArgv } = this.options;
    if (exec !== undefined || args !== undefined || execArgv !== undefined) {
      cluster.setupPrimary({
        ...(exec === undefined ? {} : { exec }),
        ...(args === undefined ? {} : { args }),
        ...(execArgv === undefined ? {} : { execArgv }),
      });
    }
    const listenPort = this.portForNewWorker();
    const worker = cluster.fork({
      ...this.options.env,
      [ClusterEnv.SLOT]: String(slot.index),
      [ClusterEnv.HOST]: this.options.host ?? '127.0.0.1',
      [ClusterEnv.PORT]: String(listenPort),
    });
    const record: WorkerRecord = {
      slot,
      worker,
      listenPort,
      state: 'starting',
      info: null,
      startError: null,
      stopRequested: false,
      listening: deferred(),
      exited: deferred(),
      timers: [],
      statsRequests: new Map(),
    };
    this.records.add(record);
    slot.incoming = record;
    const startTimeoutMs = this.options.startTimeoutMs ?? 60_000;
    record.timers.push(
      setTimeout(() => {
        if (record.state === 'starting')
          this.failStart(record, `it did not report listening within ${startTimeoutMs} ms`);
      }, startTimeoutMs),
    );
    // A send to a worker that is going away fails here; its 'exit' tells the story.
    worker.on('error', () => {});
    worker.on('message', (message: unknown) => {
      if (isClusterMessage<WorkerToPrimary>(message)) this.onMessage(record, message);
    });
    worker.once('exit', (code: number | null, signal: string | null) => this.onExit(record, code, signal));
    return record;
  }

  private facts(record: WorkerRecord) {
    return { slot: record.slot.index, workerId: record.worker.id, pid: record.worker.process.pid };
  }

  private onMessage(record: WorkerRecord, message: WorkerToPrimary): void {
    if (message.type === 'stats') {
      record.statsRequests.get(message.requestId)?.(message.figures);
      record.statsRequests.delete(message.requestId);
    } else if (message.type === 'start-failed') {
      const cause = deserializeError(message.error);
      this.failStart(record, `its server did not start: ${cause.message}`, cause);
    } else if (record.state === 'starting') {
      this.onListening(record, { host: message.host, port: message.port });
    }
  }

  private onListening(record: WorkerRecord, address: HostPort): void {
    const shared = this.sharedAddress;
    if (shared !== null && (address.port !== shared.port || address.host !== shared.host)) {
      this.failStart(
        record,
        `it listens on ${address.host}:${address.port}, not on the cluster's ${shared.host}:${shared.port}` +
          ' (every worker that shared the port had exited; the next one asks for it by number)',
      );
      return;
    }
    this.sharedAddress = address;
    record.state = 'listening';
    const pid = record.worker.process.pid as number;
    const info = {
      slot: record.slot.index,
      workerId: record.worker.id,
      pid,
      address,
      listeningSince: Date.now(),
    };
    record.info = info;
    const slot = record.slot;
    const predecessor = slot.current;
    slot.current = record;
    if (slot.incoming === record) slot.incoming = null;
    // The successor listens before its predecessor stops: the slot never goes dark.
    if (predecessor !== null) this.requestStop(predecessor);
    if (this.phase === 'stopping' || this.phase === 'stopped') this.requestStop(record);
    this.emit('workerListening', { ...info, address: { ...address } });
    record.listening.resolve(info);
  }

  private failStart(record: WorkerRecord, reason: string, cause?: unknown): void {
    if (record.state !== 'starting') return;
    record.startError = new ClusterWorkerStartError(this.facts(record), reason, cause);
    record.listening.reject(record.startError);
    // A worker that never served owes nobody a graceful exit.
    this.kill(record);
  }

  private requestStop(record: WorkerRecord): void {
    if (record.state === 'exited' || record.stopRequested) return;
    record.stopRequested = true;
    if (record.state !== 'listening' || !record.worker.isConnected()) {
      this.kill(record);
      return;
    }
    record.state = 'stopping';
    const graceMs = this.options.shutdownGraceMs ?? 5000;
    const message: PrimaryToWorker = { channel: CLUSTER_CHANNEL, type: 'shutdown', graceMs };
    record.worker.send(message, undefined, (error) => {
      if (error) this.kill(record);
    });
    record.timers.push(setTimeout(() => this.kill(record), graceMs + (this.options.killAfterMs ?? 5000)));
  }

  private kill(record: WorkerRecord): void {
    record.stopRequested = true;
    if (record.state === 'exited') return;
    record.worker.process.kill('SIGKILL');
  }

  private requestStats(record: WorkerRecord, timeoutMs: number): Promise<WorkerFigures | null> {
    const requestId = ++this.lastStatsRequest;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        record.statsRequests.delete(requestId);
        reject(
          new Error(
            `cluster worker ${record.worker.id} (slot ${record.slot.index}, pid ${record.worker.process.pid}) ` +
              `did not answer a stats query within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      record.statsRequests.set(requestId, (figures) => {
        clearTimeout(timer);
        resolve(figures);
      });
      const message: PrimaryToWorker = { channel: CLUSTER_CHANNEL, type: 'stats', requestId };
      record.worker.send(message, undefined, () => {});
    });
  }

  private onExit(record: WorkerRecord, code: number | null, signal: string | null): void {
    const wasStarting = record.state === 'starting';
    record.state = 'exited';
    for (const timer of record.timers) clearTimeout(timer);
    this.records.delete(record);
    for (const answer of record.statsRequests.values()) answer(null);
    record.statsRequests.clear();
    if (wasStarting && record.startError === null) {
      record.startError = new ClusterWorkerStartError(
        this.facts(record),
        `it exited (${describeExit(code, signal)}) before it listened`,
      );
      record.listening.reject(record.startError);
    }
    const slot = record.slot;
    const wasCurrent = slot.current === record;
    if (wasCurrent) slot.current = null;
    if (slot.incoming === record) slot.incoming = null;
    const reason: ClusterWorkerExitReason =
      record.startError !== null ? 'start-failed' : record.stopRequested ? 'stopped' : 'died';
    // A slot with no worker and none on the way needs one, unless the cluster is stopping
    // or this was a rolling restart's successor that failed (its predecessor still serves).
    // While the cluster starts, a worker that fails to start fails the start instead.
    const slotEmpty = slot.current === null && slot.incoming === null;
    const replace =
      (reason === 'died' && (this.phase === 'starting' || this.phase === 'running')) ||
      (reason === 'start-failed' && this.phase === 'running');
    const restartInMs =
      replace && slotEmpty ? this.scheduleRestart(record, describeExit(code, signal)) : null;
    this.emit('workerExit', {
      ...this.facts(record),
      code,
      signal,
      reason,
      restartInMs,
      ...(record.startError === null ? {} : { error: record.startError }),
    });
    record.exited.resolve();
  }

  private scheduleRestart(record: WorkerRecord, how: string): number | null {
    const slot = record.slot;
    const decision = this.policy.onWorkerDied(slot.index, performance.now());
    if (!decision.restart) {
      const what =
        record.startError === null ? `exited (${how})` : `did not start (${record.startError.reason})`;
      const error = new ClusterRestartLimitError(
        this.facts(record),
        what,
        decision,
        record.startError ?? undefined,
      );
      this.stopping ??= this.stopAll(error);
      return null;
    }
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      const needed = slot.current === null && slot.incoming === null;
      if (needed && (this.phase === 'starting' || this.phase === 'running')) this.fork(slot);
    }, decision.delayMs);
    return decision.delayMs;
  }
}

/**
 * Starts a {@link ServerCluster} from the primary process: forks `workers`
 * processes (each runs this script again, or `exec`, and must call
 * {@link runClusterWorker}) and resolves once every one listens on the shared
 * address.
 *
 * ```ts
 * if (cluster.isPrimary) {
 *   const servers = await startServerCluster({ workers: 2, port: 0 });
 *   console.log(servers.address());
 *   process.once('SIGTERM', () => void servers.shutdown());
 * } else {
 *   await runClusterWorker(({ host, port }) => new RemotingServer({ host, port }).registerProcessor(1, echo));
 * }
 * ```
 *
 * @throws Error when called in a worker; RangeError for a bad option;
 *   ClusterWorkerStartError when a worker does not start (every worker
 *   started is stopped first).
 */
export function startServerCluster(options: ServerClusterOptions = {}): Promise<ServerCluster> {
  return ServerCluster.start(options);
}
