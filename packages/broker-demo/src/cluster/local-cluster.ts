import type { ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClusterClient } from '../client/cluster-client.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { waitFor } from '../util/time.js';
import { type DirectoryLock, lockDirectory } from './dir-lock.js';
import { processStartTime } from './process-identity.js';
import { entryPoint, exited, spawnNode, stopChild } from './spawn-node.js';

export interface LocalClusterOptions {
  brokers: number;
  partitions: number;
  replicationFactor: number;
  minInsync: number;
  dir: string;
  unclean?: boolean;
  replicaLagTimeMaxMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  fetchWaitMs?: number;
  /** 0 = fsync every append; otherwise fsync every N ms. */
  flushMs?: number;
  /**
   * Restart the controller this long after it dies on its own (a crash or a
   * SIGKILL from outside); null: only `restartController()` starts it again.
   */
  controllerRestartDelayMs?: number | null;
  /** Brokers CRC-check every segment on start, not only the last (their --verify-segments flag). */
  verifySegmentsOnStart?: boolean;
  /** Roll log segments at this size (the broker's --segment-bytes); null = the log's default. */
  segmentBytes?: number | null;
  /**
   * Coordinate through etcd at this URL (`etcd://HOST:PORT[,…][/ROOT]`)
   * instead of a built-in controller process: no controller is started, each
   * broker registers in etcd and one of them is elected controller. The
   * cluster's min.insync, partitions and replication factor are written to
   * etcd as the defaults of `create-topic`. Null: the built-in controller.
   */
  coordinator?: string | null;
  /** Per broker: where it listens, what it registers and which etcd it dials (tests put proxies between). */
  brokerNetwork?: ((brokerId: number) => BrokerNetwork) | null;
  /** Who holds the cluster directory, as a second cluster started on it is told. */
  owner?: string;
}

/** Where one broker listens and how others reach it (see `LocalClusterOptions.brokerNetwork`). */
export interface BrokerNetwork {
  /** The address to listen on; default 127.0.0.1. */
  host?: string;
  /** The port to listen on, the same on every restart (a proxy in front knows it); default one the OS picks. */
  port?: number;
  /** HOST:PORT registered for others instead of where it listens. */
  advertise?: string;
  /** Its own coordinator URL (the same cluster reached another way, e.g. through proxies). */
  coordinator?: string;
}

export interface ProcessInfo {
  role: 'controller' | 'broker';
  brokerId: number | null;
  pid: number;
  address: string;
  logFile: string;
  /** The broker's data directory, or the controller's state directory: part of what identifies the process. */
  dir: string;
  /** From /proc/PID/stat when it started; a PID whose start time differs is another process. */
  startTime: string | null;
  /** Wall-clock ms when it reported ready. */
  startedAtMs: number;
}

/** When a broker process's state last changed, by the clock of the process that started it. */
export interface ProcessTimes {
  startedAtMs: number;
  /** When it exited; null while it runs. */
  exitedAtMs: number | null;
  /** The last SIGSTOP or SIGCONT sent to it, and when. */
  lastPause: { signal: 'SIGSTOP' | 'SIGCONT'; atMs: number } | null;
}

/** Written to `<dir>/cluster.json` so `broker kill` finds the processes. */
export interface ClusterStateFile {
  clusterDir: string;
  /** The process that owns the children (the `cluster` command), and its start time. */
  startedBy: number;
  startedByStartTime: string | null;
  /** Null in an etcd-coordinated cluster: its controller is whichever broker etcd elected. */
  controller: ProcessInfo | null;
  /** The etcd URL of an etcd-coordinated cluster. */
  coordinator?: string;
  brokers: ProcessInfo[];
}

export const STATE_FILE = 'cluster.json';

type Signal = 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM';

/**
 * A controller and N brokers as separate OS processes on loopback ports
 * chosen by the OS. Used by the `cluster` command, the demo and the
 * integration tests; `stop()` always leaves no process behind.
 */
export class LocalCluster {
  readonly options: Required<LocalClusterOptions>;
  private controllerProcess: { child: ChildProcess; info: ProcessInfo } | null = null;
  /** Set while a controller restart is pending or running, so exits and calls do not start two. */
  private controllerStarting: Promise<void> | null = null;
  private controllerRestartTimer: NodeJS.Timeout | null = null;
  private readonly brokerProcesses = new Map<
    number,
    {
      child: ChildProcess;
      info: ProcessInfo;
      exitedAtMs: number | null;
      lastPause: ProcessTimes['lastPause'];
    }
  >();
  /** Broker starts in progress. */
  private readonly starting = new Set<Promise<ProcessInfo>>();
  private stopped = false;
  /** Every cluster not yet stopped in this process, so a test's afterEach can stop what a failure left. */
  private static readonly running = new Set<LocalCluster>();

  static async stopAll(): Promise<void> {
    await Promise.all([...LocalCluster.running].map((c) => c.stop()));
  }

  private constructor(
    options: LocalClusterOptions,
    private readonly lock: DirectoryLock,
  ) {
    this.options = {
      unclean: false,
      replicaLagTimeMaxMs: 1500,
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 300,
      fetchWaitMs: 500,
      flushMs: 200,
      controllerRestartDelayMs: null,
      verifySegmentsOnStart: false,
      segmentBytes: null,
      coordinator: null,
      brokerNetwork: null,
      owner: `the cluster of ${describeThisProcess()}`,
      ...options,
    };
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    if (options.replicationFactor > options.brokers) {
      throw new BrokerConfigError(
        `replication factor ${options.replicationFactor} > ${options.brokers} brokers`,
      );
    }
    if (options.minInsync > options.replicationFactor || options.minInsync < 1) {
      throw new BrokerConfigError(`min.insync.replicas must be in 1..${options.replicationFactor}`);
    }
    // Before anything in the directory is read, written or started: a second cluster on it refuses here.
    const lock = lockDirectory(options.dir, options.owner ?? `the cluster of ${describeThisProcess()}`);
    const cluster = new LocalCluster(options, lock);
    LocalCluster.running.add(cluster);
    try {
      if (cluster.options.coordinator === null) await cluster.startController();
      else await writeEtcdClusterDefaults(cluster.options.coordinator, cluster.options);
      await Promise.all(Array.from({ length: options.brokers }, (_, i) => cluster.startBroker(i + 1)));
      await cluster.waitForBrokersRegistered();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Topics are created from the live brokers, so wait until the controller has seen all of them. */
  private async waitForBrokersRegistered(): Promise<void> {
    const client = new ClusterClient(this.controllerAddress);
    const where = this.options.coordinator === null ? 'the controller' : 'etcd';
    try {
      await waitFor(
        `${this.options.brokers} brokers to register with ${where}`,
        async () => {
          const snapshot = await client.refresh();
          return snapshot.brokers.filter((b) => b.alive).length >= this.options.brokers ? true : undefined;
        },
        30_000,
        100,
      );
    } finally {
      await client.close();
    }
  }

  /** The stale lock this cluster took over from a process that is gone (a SIGKILLed earlier cluster), if any. */
  get replacedLock(): { pid: number; description: string } | null {
    return this.lock.replaced;
  }

  /**
   * Where clients bootstrap: the controller process's address, or, in an
   * etcd-coordinated cluster (no controller process), every broker's
   * (HOST:PORT,HOST:PORT,…; any broker answers metadata).
   */
  get controllerAddress(): string {
    if (this.options.coordinator !== null)
      return this.brokerIds.map((id) => this.brokerAddress(id)).join(',');
    if (this.controllerProcess === null) throw new Error('controller not running');
    return this.controllerProcess.info.address;
  }

  /** The address broker `id` registers for others: its advertised one, else where it listens. */
  private brokerAddress(id: number): string {
    return this.options.brokerNetwork?.(id).advertise ?? this.brokerProcesses.get(id)!.info.address;
  }

  get brokerIds(): number[] {
    return [...this.brokerProcesses.keys()].sort((a, b) => a - b);
  }

  processes(): ProcessInfo[] {
    const all: ProcessInfo[] = [];
    if (this.controllerProcess !== null) all.push(this.controllerProcess.info);
    for (const id of this.brokerIds) all.push(this.brokerProcesses.get(id)!.info);
    return all;
  }

  brokerInfo(id: number): ProcessInfo | undefined {
    return this.brokerProcesses.get(id)?.info;
  }

  isRunning(id: number): boolean {
    const p = this.brokerProcesses.get(id);
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  isControllerRunning(): boolean {
    const p = this.controllerProcess;
    return p !== null && p.child.exitCode === null && p.child.signalCode === null;
  }

  /** Sends a signal to the controller; with SIGKILL or SIGTERM, resolves once it is gone. */
  async signalController(signal: Signal): Promise<void> {
    const p = this.controllerProcess;
    if (p === null) throw new BrokerConfigError('no controller');
    p.child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited(p.child);
  }

  /**
   * Starts the controller again on its state directory (it reloads its state
   * and binds its previous port, so brokers and clients find it where it was).
   * Resolves once it listens; does nothing if it is running.
   */
  restartController(): Promise<void> {
    if (this.controllerRestartTimer !== null) clearTimeout(this.controllerRestartTimer);
    this.controllerRestartTimer = null;
    if (this.isControllerRunning() || this.stopped || this.options.coordinator !== null)
      return Promise.resolve();
    this.controllerStarting ??= this.startController().finally(() => {
      this.controllerStarting = null;
    });
    return this.controllerStarting;
  }

  private onControllerExit(child: ChildProcess): void {
    const delay = this.options.controllerRestartDelayMs;
    if (this.stopped || delay === null || this.controllerProcess?.child !== child) return;
    this.controllerRestartTimer = setTimeout(() => {
      this.controllerRestartTimer = null;
      this.restartController().catch((err: unknown) => {
        process.stderr.write(`controller failed to restart: ${String(err)}\n`);
      });
    }, delay);
  }

  private async startController(): Promise<void> {
    const o = this.options;
    const logFile = path.join(o.dir, 'controller.log');
    const stateDir = path.join(o.dir, 'controller');
    // A restart keeps the address brokers and clients were given.
    const port =
      this.controllerProcess === null ? 0 : Number(this.controllerProcess.info.address.split(':')[1]);
    const { child, ready } = await spawnNode(
      entryPoint('controller/main.ts'),
      [
        '--port',
        String(port),
        '--min-insync',
        String(o.minInsync),
        '--partitions',
        String(o.partitions),
        '--replication-factor',
        String(o.replicationFactor),
        '--session-timeout-ms',
        String(o.sessionTimeoutMs),
        '--dir',
        stateDir,
        ...(o.unclean ? ['--unclean'] : []),
      ],
      logFile,
    );
    this.controllerProcess = {
      child,
      info: {
        role: 'controller',
        brokerId: null,
        pid: ready.pid,
        address: `${ready.host}:${ready.port}`,
        logFile,
        dir: stateDir,
        startTime: processStartTime(ready.pid),
        startedAtMs: Date.now(),
      },
    };
    child.once('exit', () => this.onControllerExit(child));
    if (this.stopped) await stopChild(child);
    this.writeStateFile();
  }

  /** Starts (or restarts, on the same directory) broker `id`. */
  startBroker(id: number): Promise<ProcessInfo> {
    const start = this.spawnBroker(id);
    // stop() waits for starts in progress: a broker that reports ready after it is stopped at once.
    this.starting.add(start);
    void start.finally(() => this.starting.delete(start)).catch(() => undefined);
    return start;
  }

  private async spawnBroker(id: number): Promise<ProcessInfo> {
    if (this.stopped) throw new BrokerConfigError(`the cluster in ${this.options.dir} is stopped`);
    if (this.isRunning(id)) throw new BrokerConfigError(`broker ${id} is already running`);
    const o = this.options;
    const logFile = path.join(o.dir, `broker-${id}.log`);
    const dataDir = path.join(o.dir, `broker-${id}`);
    const network = o.brokerNetwork?.(id) ?? {};
    const coordination =
      o.coordinator === null
        ? ['--controller', this.controllerAddress]
        : [
            '--coordinator',
            network.coordinator ?? o.coordinator,
            '--session-timeout-ms',
            String(o.sessionTimeoutMs),
          ];
    const { child, ready } = await spawnNode(
      entryPoint('broker/main.ts'),
      [
        '--id',
        String(id),
        '--dir',
        dataDir,
        ...coordination,
        ...(network.host === undefined ? [] : ['--host', network.host]),
        ...(network.port === undefined ? [] : ['--port', String(network.port)]),
        ...(network.advertise === undefined ? [] : ['--advertise', network.advertise]),
        '--lag-time-ms',
        String(o.replicaLagTimeMaxMs),
        '--heartbeat-ms',
        String(o.heartbeatIntervalMs),
        '--fetch-wait-ms',
        String(o.fetchWaitMs),
        '--flush-ms',
        String(o.flushMs),
        ...(o.verifySegmentsOnStart ? ['--verify-segments'] : []),
        ...(o.segmentBytes === null ? [] : ['--segment-bytes', String(o.segmentBytes)]),
      ],
      logFile,
    );
    if (this.stopped) {
      await stopChild(child);
      throw new BrokerConfigError(`the cluster in ${o.dir} was stopped while broker ${id} started`);
    }
    const info: ProcessInfo = {
      role: 'broker',
      brokerId: id,
      pid: ready.pid,
      address: `${ready.host}:${ready.port}`,
      logFile,
      dir: dataDir,
      startTime: processStartTime(ready.pid),
      startedAtMs: Date.now(),
    };
    const entry = { child, info, exitedAtMs: null as number | null, lastPause: null };
    child.once('exit', () => {
      entry.exitedAtMs = Date.now();
    });
    this.brokerProcesses.set(id, entry);
    this.writeStateFile();
    return info;
  }

  /** When broker `id`'s process started, exited, and was last paused or continued; undefined for no such broker. */
  processTimes(id: number): ProcessTimes | undefined {
    const p = this.brokerProcesses.get(id);
    if (p === undefined) return undefined;
    return {
      startedAtMs: p.info.startedAtMs,
      exitedAtMs: p.exitedAtMs,
      lastPause: p.lastPause === null ? null : { ...p.lastPause },
    };
  }

  /** Sends a signal to broker `id`; with SIGKILL, resolves once it is gone. */
  async signalBroker(id: number, signal: Signal): Promise<void> {
    const p = this.brokerProcesses.get(id);
    if (p === undefined) throw new BrokerConfigError(`no broker ${id}`);
    p.child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') p.lastPause = { signal, atMs: Date.now() };
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited(p.child);
  }

  writeStateFile(): void {
    if (this.controllerProcess === null && this.options.coordinator === null) return;
    const state: ClusterStateFile = {
      clusterDir: this.options.dir,
      startedBy: process.pid,
      startedByStartTime: processStartTime(process.pid),
      controller: this.controllerProcess?.info ?? null,
      ...(this.options.coordinator === null ? {} : { coordinator: this.options.coordinator }),
      brokers: this.brokerIds.map((id) => this.brokerProcesses.get(id)!.info),
    };
    // Replaced whole, so `broker kill` never reads half a file.
    const file = path.join(this.options.dir, STATE_FILE);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  /** Stops every process this cluster started, stopped (SIGSTOP) ones included. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    LocalCluster.running.delete(this);
    if (this.controllerRestartTimer !== null) clearTimeout(this.controllerRestartTimer);
    await this.controllerStarting?.catch(() => undefined);
    await Promise.all([...this.starting].map((start) => start.catch(() => undefined)));
    const children = [...this.brokerProcesses.values()].map((p) => p.child);
    if (this.controllerProcess !== null) children.push(this.controllerProcess.child);
    await Promise.all(children.map((c) => stopChild(c)));
    this.lock.release();
  }
}

/** The cluster's settings in etcd: unclean election, and what `create-topic` uses for what it is not told. */
async function writeEtcdClusterDefaults(url: string, o: Required<LocalClusterOptions>): Promise<void> {
  // Loaded only for an etcd cluster: the built-in controller's clusters (the demo) never pay for the etcd client.
  const [{ createEtcdClient }, { EtcdKeyLayout }, { parseCoordinatorUrl }, { writeClusterConfig }] =
    await Promise.all([
      import('../coordination/etcd/etcd-client.js'),
      import('../coordination/etcd/etcd-records.js'),
      import('../coordination/etcd/etcd-url.js'),
      import('../coordination/etcd/topic-admin.js'),
    ]);
  const coordinates = parseCoordinatorUrl(url);
  const client = createEtcdClient(coordinates.endpoints);
  try {
    await writeClusterConfig(client, new EtcdKeyLayout(coordinates.root), {
      minInsyncReplicas: o.minInsync,
      uncleanLeaderElection: o.unclean,
      defaultPartitions: o.partitions,
      defaultReplicationFactor: o.replicationFactor,
    });
  } finally {
    client.close();
  }
}

/** This process as a person would recognise it: the command it runs. */
function describeThisProcess(): string {
  const [, script, ...args] = process.argv;
  return `"${[path.basename(script ?? 'node'), ...args].join(' ')}"`;
}
