/**
 * The broker suite's load process, forked by suites/broker.ts with the
 * broker-demo package as its working directory (so tsx compiles the demo with
 * the demo's own compiler settings). It starts the clusters as real processes
 * through the demo's LocalCluster, runs every row, and reports over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Acks,
  FetchRequestHeader,
  FetchResponseHeader,
  formatCoordinatorUrl,
  header,
  LocalCluster,
  LocalEtcd,
  RequestCode,
} from '@remoting-ts/broker-demo/bench';
import { RemotingClient, RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { type BrokerLoadSettings, runBrokerRow } from './broker-load.js';
import type {
  BrokerAcks,
  BrokerCoordination,
  BrokerRunSample,
  FetchPath,
  FetchPathSample,
} from './broker-types.js';

export interface BrokerRowPlan {
  row: string;
  label: string;
  replicationFactor: number;
  acks: BrokerAcks;
  producers: number;
  coordination: BrokerCoordination;
}

export interface BrokerRunPlan {
  rows: BrokerRowPlan[];
  fetchPaths: FetchPath[];
  brokers: number;
  partitions: number;
  load: BrokerLoadSettings;
  repeat: number;
  fetchMaxBytes: number;
  fetchLogMb: number;
}

export type RunnerMessage =
  | { type: 'ready' }
  | { type: 'case-start'; label: string }
  | { type: 'row'; row: string; runs: BrokerRunSample[] }
  | { type: 'fetch-path'; path: FetchPath; runs: FetchPathSample[] }
  | { type: 'case-failed'; label: string; message: string }
  | { type: 'done' };

function send(message: RunnerMessage): void {
  process.send?.(message);
}

const ACKS: Record<BrokerAcks, Acks> = { '0': Acks.NONE, '1': Acks.LEADER, all: Acks.ALL };

/** One cluster serves every row of the same replication factor and coordination. */
function clusterKey(row: BrokerRowPlan): string {
  return `rf${row.replicationFactor}-${row.coordination}`;
}

/**
 * Starts one cluster per replication factor and coordination (an etcd
 * server of its own for the etcd rows), then runs the rows in turns,
 * repetition by repetition, so a busy moment of a shared machine falls on
 * every row alike rather than on one of them.
 */
async function runRows(plan: BrokerRunPlan): Promise<void> {
  const clusters = new Map<string, LocalCluster>();
  const dirs: string[] = [];
  const etcds: LocalEtcd[] = [];
  const runs = new Map<string, BrokerRunSample[]>();
  const failedRows = new Set<string>();
  try {
    for (const key of new Set(plan.rows.map(clusterKey))) {
      const first = plan.rows.find((r) => clusterKey(r) === key)!;
      const rf = first.replicationFactor;
      const dir = mkdtempSync(path.join(os.tmpdir(), `broker-bench-${key}-`));
      dirs.push(dir);
      try {
        let coordinator: string | null = null;
        if (first.coordination === 'etcd') {
          const etcd = await LocalEtcd.start({ members: 1, dir: path.join(dir, 'etcd') });
          etcds.push(etcd);
          coordinator = formatCoordinatorUrl(etcd.clientAddresses);
        }
        const cluster = await LocalCluster.start({
          brokers: plan.brokers,
          partitions: plan.partitions,
          replicationFactor: rf,
          minInsync: Math.min(2, rf),
          dir: path.join(dir, 'cluster'),
          // Generous: on a shared 2-core machine a busy follower must not be taken for a dead one.
          replicaLagTimeMaxMs: 10_000,
          sessionTimeoutMs: 15_000,
          coordinator,
        });
        clusters.set(key, cluster);
      } catch (err) {
        for (const row of plan.rows.filter((r) => clusterKey(r) === key)) {
          failedRows.add(row.row);
          send({ type: 'case-failed', label: row.label, message: `cluster did not start: ${String(err)}` });
        }
      }
    }
    for (let i = 0; i < plan.repeat; i++) {
      for (const row of plan.rows) {
        const cluster = clusters.get(clusterKey(row));
        if (cluster === undefined || failedRows.has(row.row)) continue;
        if (i === 0) send({ type: 'case-start', label: row.label });
        try {
          const sample = await runBrokerRow(
            cluster,
            {
              topic: `${row.row}-${i}`,
              acks: ACKS[row.acks],
              producers: row.producers,
              replicationFactor: row.replicationFactor,
            },
            plan.load,
          );
          runs.set(row.row, [...(runs.get(row.row) ?? []), sample]);
        } catch (err) {
          failedRows.add(row.row);
          send({ type: 'case-failed', label: row.label, message: String(err) });
        }
      }
    }
    for (const row of plan.rows) {
      const samples = runs.get(row.row);
      if (!failedRows.has(row.row) && samples !== undefined)
        send({ type: 'row', row: row.row, runs: samples });
    }
  } finally {
    await Promise.all([...clusters.values()].map((c) => c.stop()));
    await Promise.all(etcds.map((e) => e.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const FETCH_SERVER = fileURLToPath(new URL('./broker-fetch-server.ts', import.meta.url));

interface FetchServer {
  child: ChildProcess;
  port: number;
  logEndOffset: number;
  cpuUs(): Promise<number>;
}

function startFetchServer(fetchPath: FetchPath, mb: number): Promise<FetchServer> {
  const child = fork(FETCH_SERVER, ['--path', fetchPath, '--mb', String(mb)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`fetch server exited (${code}) before ready`));
    child.once('exit', onExit);
    child.once('message', (msg: { type: string; port: number; logEndOffset: number }) => {
      child.off('exit', onExit);
      resolve({
        child,
        port: msg.port,
        logEndOffset: msg.logEndOffset,
        cpuUs: () =>
          new Promise((done) => {
            const onMessage = (m: { type: string; us: number }) => {
              if (m.type !== 'cpu') return;
              child.off('message', onMessage);
              done(m.us);
            };
            child.on('message', onMessage);
            child.send({ type: 'cpu' });
          }),
      });
    });
  });
}

/** A consumer reading the server's log over and over, one fetch at a time, for `durationMs`. */
async function measureFetchPath(
  server: FetchServer,
  fetchMaxBytes: number,
  warmupMs: number,
  durationMs: number,
): Promise<FetchPathSample> {
  const client = new RemotingClient({ connectTimeoutMs: 3000 });
  const address = `127.0.0.1:${server.port}`;
  let offset = 0;
  const fetchOnce = async (): Promise<number> => {
    const request = RemotingCommand.createRequest(
      RequestCode.FETCH,
      header(FetchRequestHeader, {
        topic: 'fetch-path',
        partition: 0,
        fetchOffset: offset,
        maxBytes: fetchMaxBytes,
        maxWaitMs: 0,
        replicaId: -1,
        currentLeaderEpoch: -1,
      }),
    );
    const response = await client.invokeSync(address, request, 10_000);
    if (response.code !== ResponseCode.SUCCESS) throw new Error(`fetch answered ${response.code}`);
    const h = response.decodeCustomHeader(FetchResponseHeader);
    offset = h.nextOffset >= server.logEndOffset ? 0 : h.nextOffset;
    return response.body?.length ?? 0;
  };
  try {
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) await fetchOnce();
    const cpu0 = await server.cpuUs();
    const t0 = performance.now();
    let bytes = 0;
    while (performance.now() - t0 < durationMs) bytes += await fetchOnce();
    const elapsedSec = (performance.now() - t0) / 1000;
    const cpuMs = ((await server.cpuUs()) - cpu0) / 1000;
    const mb = bytes / 1e6;
    return { mbPerSec: mb / elapsedSec, serverCpuMsPerMb: cpuMs / mb };
  } finally {
    await client.shutdown();
  }
}

async function runFetchPaths(plan: BrokerRunPlan): Promise<void> {
  for (const fetchPath of plan.fetchPaths) {
    const label = `broker fetch path ${fetchPath}`;
    send({ type: 'case-start', label });
    let server: FetchServer | null = null;
    try {
      server = await startFetchServer(fetchPath, plan.fetchLogMb);
      const runs: FetchPathSample[] = [];
      for (let i = 0; i < plan.repeat; i++) {
        runs.push(
          await measureFetchPath(server, plan.fetchMaxBytes, plan.load.warmupMs, plan.load.durationMs),
        );
      }
      send({ type: 'fetch-path', path: fetchPath, runs });
    } catch (err) {
      send({ type: 'case-failed', label, message: String(err) });
    } finally {
      if (server !== null) {
        const exited = new Promise((r) => server!.child.once('exit', r));
        server.child.send({ type: 'stop' });
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        server.child.kill('SIGKILL');
      }
    }
  }
}

process.once('message', (message: { type: string; plan: BrokerRunPlan }) => {
  if (message.type !== 'run') return;
  (async () => {
    await runRows(message.plan);
    await runFetchPaths(message.plan);
    send({ type: 'done' });
  })().then(
    () => process.disconnect?.(),
    (err: unknown) => {
      process.stderr.write(`broker runner failed: ${String(err)}\n`);
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
});
process.on('disconnect', () => {
  void Promise.all([LocalCluster.stopAll(), LocalEtcd.closeAll()]).finally(() => process.exit());
});
send({ type: 'ready' });
