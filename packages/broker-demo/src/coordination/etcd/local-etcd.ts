import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { exited, stopChild } from '../../cluster/spawn-node.js';
import { waitFor } from '../../util/time.js';

/** Debian's etcd-server installs the server here; ETCD_BINARY names another. */
export const ETCD_BINARY = process.env.ETCD_BINARY ?? '/usr/bin/etcd';

/** How long a starting member may take to report healthy on a busy machine. */
const HEALTHY_TIMEOUT_MS = 60_000;

/** Whether an etcd server can be started here; the reason when not (tests print it when they skip). */
export function etcdAvailability(): { ok: true } | { ok: false; reason: string } {
  try {
    accessSync(ETCD_BINARY, constants.X_OK);
    return { ok: true };
  } catch {
    return {
      ok: false,
      reason: `no etcd server at ${ETCD_BINARY} (Debian: apt-get install etcd-server; or set ETCD_BINARY)`,
    };
  }
}

/** A port the OS picked as free a moment ago (listen on 0, close): etcd takes ports only as flags. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

export interface LocalEtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  logFile: string;
  child: ChildProcess | null;
}

export interface LocalEtcdOptions {
  /** 1, or 3 for a cluster that survives one member's loss. */
  members: number;
  /** Where each member keeps its data (a member directory each) and its log. */
  dir: string;
}

/**
 * etcd servers on 127.0.0.1 for the tests, the bench and a local demo: each
 * member on ports the OS picked, its data in a directory under `dir`, and
 * stopped by the PID this process spawned (never by name). Members can be
 * killed and started again on the same data and ports, one or all.
 */
export class LocalEtcd {
  readonly members: LocalEtcdMember[];
  private readonly token = `broker-demo-${randomBytes(6).toString('hex')}`;
  private closed = false;
  /** Every LocalEtcd not yet closed in this process, so a test's afterEach stops what a failure left. */
  private static readonly running = new Set<LocalEtcd>();

  private constructor(members: LocalEtcdMember[]) {
    this.members = members;
  }

  static async closeAll(): Promise<void> {
    await Promise.all([...LocalEtcd.running].map((e) => e.close()));
  }

  /** Starts the members and resolves once every one reports healthy (the cluster has a leader). */
  static async start(options: LocalEtcdOptions): Promise<LocalEtcd> {
    const available = etcdAvailability();
    if (!available.ok) throw new Error(available.reason);
    mkdirSync(options.dir, { recursive: true });
    const members: LocalEtcdMember[] = [];
    for (let i = 1; i <= options.members; i++) {
      members.push({
        name: `member-${i}`,
        clientPort: await freePort(),
        peerPort: await freePort(),
        dataDir: path.join(options.dir, `member-${i}.etcd`),
        logFile: path.join(options.dir, `member-${i}.log`),
        child: null,
      });
    }
    const etcd = new LocalEtcd(members);
    LocalEtcd.running.add(etcd);
    try {
      for (const m of members) etcd.spawnMember(m, 'new');
      await Promise.all(members.map((m) => etcd.waitHealthy(m)));
    } catch (err) {
      await etcd.close();
      throw err;
    }
    return etcd;
  }

  /** The members' client addresses, HOST:PORT. */
  get clientAddresses(): string[] {
    return this.members.map((m) => `127.0.0.1:${m.clientPort}`);
  }

  isRunning(index: number): boolean {
    const child = this.members[index]?.child;
    return child != null && child.exitCode === null && child.signalCode === null;
  }

  /** Kills member `index` (0-based) with `signal`; resolves once it has exited. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.member(index).child;
    if (child === null) return;
    child.kill(signal);
    await exited(child);
  }

  /** Starts member `index` again on its data and ports; resolves once it is healthy. */
  async restart(index: number): Promise<void> {
    const m = this.member(index);
    if (this.isRunning(index)) return;
    this.spawnMember(m, 'existing');
    await this.waitHealthy(m);
  }

  /** Stops every member for good (their data directories stay for the caller to remove). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    LocalEtcd.running.delete(this);
    await Promise.all(this.members.map((m) => (m.child === null ? undefined : stopChild(m.child, 2000))));
  }

  private member(index: number): LocalEtcdMember {
    const m = this.members[index];
    if (m === undefined) throw new RangeError(`no etcd member ${index}`);
    return m;
  }

  private spawnMember(m: LocalEtcdMember, state: 'new' | 'existing'): void {
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const fd = openSync(m.logFile, 'a');
    try {
      m.child = spawn(
        ETCD_BINARY,
        [
          '--name',
          m.name,
          '--data-dir',
          m.dataDir,
          '--listen-client-urls',
          `http://127.0.0.1:${m.clientPort}`,
          '--advertise-client-urls',
          `http://127.0.0.1:${m.clientPort}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${m.peerPort}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${m.peerPort}`,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          state,
          '--initial-cluster-token',
          this.token,
          // A little more patience than the defaults (100/1000 ms): on a busy two-core
          // machine a member missing heartbeats would call elections for nothing.
          '--heartbeat-interval',
          '150',
          '--election-timeout',
          '1500',
        ],
        { stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
  }

  private async waitHealthy(m: LocalEtcdMember): Promise<void> {
    const child = m.child!;
    await waitFor(
      `etcd ${m.name} on 127.0.0.1:${m.clientPort} to report healthy (log: ${m.logFile})`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`etcd ${m.name} exited (${child.signalCode ?? child.exitCode}); see ${m.logFile}`);
        const response = await fetch(`http://127.0.0.1:${m.clientPort}/health`, {
          signal: AbortSignal.timeout(2000),
        }).catch(() => null);
        if (response === null || !response.ok) return undefined;
        const body = (await response.json()) as { health?: string };
        return body.health === 'true' ? true : undefined;
      },
      HEALTHY_TIMEOUT_MS,
      100,
    );
  }
}
