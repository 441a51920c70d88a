import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClusterClient } from '../client/cluster-client.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { waitFor } from '../util/time.js';
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
}

export interface ProcessInfo {
  role: 'controller' | 'broker';
  brokerId: number | null;
  pid: number;
  address: string;
  logFile: string;
}

/** Written to `<dir>/cluster.json` so `pnpm broker kill` finds the processes. */
export interface ClusterStateFile {
  startedBy: number;
  controller: ProcessInfo;
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
  private readonly brokerProcesses = new Map<number, { child: ChildProcess; info: ProcessInfo }>();
  private stopped = false;
  /** Every cluster not yet stopped in this process, so a test's afterEach can stop what a failure left. */
  private static readonly running = new Set<LocalCluster>();

  static async stopAll(): Promise<void> {
    await Promise.all([...LocalCluster.running].map((c) => c.stop()));
  }

  private constructor(options: LocalClusterOptions) {
    this.options = {
      unclean: false,
      replicaLagTimeMaxMs: 1500,
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 300,
      fetchWaitMs: 500,
      flushMs: 200,
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
    const cluster = new LocalCluster(options);
    LocalCluster.running.add(cluster);
    try {
      mkdirSync(options.dir, { recursive: true });
      await cluster.startController();
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
    try {
      await waitFor(
        `${this.options.brokers} brokers to register with the controller`,
        async () => {
          const snapshot = await client.refresh(undefined, false);
          return snapshot.brokers.filter((b) => b.alive).length >= this.options.brokers ? true : undefined;
        },
        15_000,
        100,
      );
    } finally {
      await client.close();
    }
  }

  get controllerAddress(): string {
    if (this.controllerProcess === null) throw new Error('controller not running');
    return this.controllerProcess.info.address;
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

  private async startController(): Promise<void> {
    const o = this.options;
    const logFile = path.join(o.dir, 'controller.log');
    const { child, ready } = await spawnNode(
      entryPoint('controller/main.ts'),
      [
        '--min-insync',
        String(o.minInsync),
        '--partitions',
        String(o.partitions),
        '--replication-factor',
        String(o.replicationFactor),
        '--session-timeout-ms',
        String(o.sessionTimeoutMs),
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
      },
    };
    this.writeStateFile();
  }

  /** Starts (or restarts, on the same directory) broker `id`. */
  async startBroker(id: number): Promise<ProcessInfo> {
    if (this.isRunning(id)) throw new BrokerConfigError(`broker ${id} is already running`);
    const o = this.options;
    const logFile = path.join(o.dir, `broker-${id}.log`);
    const { child, ready } = await spawnNode(
      entryPoint('broker/main.ts'),
      [
        '--id',
        String(id),
        '--dir',
        path.join(o.dir, `broker-${id}`),
        '--controller',
        this.controllerAddress,
        '--lag-time-ms',
        String(o.replicaLagTimeMaxMs),
        '--heartbeat-ms',
        String(o.heartbeatIntervalMs),
        '--fetch-wait-ms',
        String(o.fetchWaitMs),
        '--flush-ms',
        String(o.flushMs),
      ],
      logFile,
    );
    const info: ProcessInfo = {
      role: 'broker',
      brokerId: id,
      pid: ready.pid,
      address: `${ready.host}:${ready.port}`,
      logFile,
    };
    this.brokerProcesses.set(id, { child, info });
    this.writeStateFile();
    return info;
  }

  /** Sends a signal to broker `id`; with SIGKILL, resolves once it is gone. */
  async signalBroker(id: number, signal: Signal): Promise<void> {
    const p = this.brokerProcesses.get(id);
    if (p === undefined) throw new BrokerConfigError(`no broker ${id}`);
    p.child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited(p.child);
  }

  writeStateFile(): void {
    if (this.controllerProcess === null) return;
    const state: ClusterStateFile = {
      startedBy: process.pid,
      controller: this.controllerProcess.info,
      brokers: this.brokerIds.map((id) => this.brokerProcesses.get(id)!.info),
    };
    writeFileSync(path.join(this.options.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Stops every process this cluster started, stopped (SIGSTOP) ones included. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    LocalCluster.running.delete(this);
    const children = [...this.brokerProcesses.values()].map((p) => p.child);
    if (this.controllerProcess !== null) children.push(this.controllerProcess.child);
    await Promise.all(children.map((c) => stopChild(c)));
  }
}
