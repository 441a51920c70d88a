/**
 * RemotingServer under node:cluster, with real processes: a primary started
 * by the test (test/fixtures/cluster-server.ts) and the workers it forks.
 * Every worker answers WHO with its pid and the address its own server
 * reports, so each test sees which process served each connection.
 */
import { describe, expect, test } from 'vitest';
import { makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import {
  type ClusterWorkerInfo,
  type ClusterWorkerStats,
  type HostPort,
  type RemotingClient,
  RemotingCommand,
} from '../src/index.js';
import { CLUSTER_PATIENCE_MS, on, startClusterFixture, started } from './helpers/cluster-fixture.js';
import { newClient } from './helpers/servers.js';

const WHO = 1;
const SLEEP = 2;

interface Who {
  pid: number;
  slot: number;
  workerId: number;
  address: HostPort;
}

/** A new connection (one RemotingClient keeps one per address) and the worker that answered on it. */
async function connectAndAsk(
  address: HostPort,
  client: RemotingClient = newClient({ connectTimeoutMs: 10_000 }),
): Promise<{ client: RemotingClient; who: Who }> {
  const response = await client.invokeSync(
    `${address.host}:${address.port}`,
    RemotingCommand.createRequest(WHO),
    10_000,
  );
  expect(response.isSuccess()).toBe(true);
  return { client, who: JSON.parse(response.body?.toString() ?? '') as Who };
}

const pidsOf = (workers: readonly ClusterWorkerInfo[]) => workers.map((w) => w.pid).sort();

describe('a ServerCluster of real processes', () => {
  test(
    'two workers share one OS-chosen port, each reports it as its own address, and connections spread over both',
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '2' });
      const { address, workers } = await started(fixture);
      expect(address.host).toBe('127.0.0.1');
      expect(address.port).toBeGreaterThan(0);
      expect(workers.map((w) => w.slot)).toEqual([0, 1]);
      expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
      for (const worker of workers) expect(worker.address).toEqual(address);

      const served: Who[] = [];
      for (let i = 0; i < 8; i++) served.push((await connectAndAsk(address)).who);
      // Every worker's own server.address() is the cluster's, and every worker took connections.
      for (const who of served) expect(who.address).toEqual(address);
      expect([...new Set(served.map((who) => who.pid))].sort()).toEqual(pidsOf(workers));
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    "stats() reports each worker's own server: the requests each served add up to the calls made",
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '2' });
      const { address } = await started(fixture);
      const servedBy = new Map<number, number>();
      for (let i = 0; i < 6; i++) {
        const { client, who } = await connectAndAsk(address);
        await connectAndAsk(address, client); // a second call on the same connection: same worker
        servedBy.set(who.pid, (servedBy.get(who.pid) ?? 0) + 2);
      }
      const stats = await fixture.command<ClusterWorkerStats[]>('stats');
      expect(stats.map((s) => s.slot)).toEqual([0, 1]);
      for (const worker of stats) {
        expect(worker.server.requestsByCode[WHO]?.count ?? 0).toBe(servedBy.get(worker.pid) ?? 0);
        expect(worker.cpuUsage.user).toBeGreaterThan(0);
        expect(worker.rssBytes).toBeGreaterThan(0);
      }
      expect(stats.reduce((sum, s) => sum + (s.server.requestsByCode[WHO]?.count ?? 0), 0)).toBe(12);
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'a worker killed by the primary does not stop the service; a replacement takes its slot on the same port',
    async () => {
      // A slow first restart opens a window in which only the survivor serves.
      const fixture = startClusterFixture({
        CLUSTER_WORKERS: '2',
        CLUSTER_RESTART: JSON.stringify({ initialDelayMs: 1000 }),
      });
      const { address, workers } = await started(fixture);
      const victim = workers.find((w) => w.slot === 0) as ClusterWorkerInfo;
      const survivor = workers.find((w) => w.slot === 1) as ClusterWorkerInfo;
      // A client whose connection lands on the victim.
      let onVictim: RemotingClient | undefined;
      while (onVictim === undefined) {
        const { client, who } = await connectAndAsk(address);
        if (who.pid === victim.pid) onVictim = client;
      }

      await fixture.command('kill', 0);
      const exit = (await fixture.waitFor(on.exitOf(victim.workerId), 'the killed worker’s exit')).exit;
      expect(exit).toMatchObject({ slot: 0, reason: 'died', signal: 'SIGKILL', restartInMs: 1000 });

      // Service goes on: new connections are served (by the survivor until the replacement listens).
      const during = await connectAndAsk(address);
      expect([
        survivor.pid,
        ...fixture.events.flatMap((e) => (e.event === 'workerListening' ? [e.info.pid] : [])),
      ]).toContain(during.who.pid);
      // The victim's connection is gone; the client's next call reconnects and is served elsewhere.
      let retried: Who | undefined;
      while (retried === undefined) {
        retried = await connectAndAsk(address, onVictim).then(
          ({ who }) => who,
          () => undefined,
        );
      }
      expect(retried.pid).not.toBe(victim.pid);

      const replacement = (await fixture.waitFor(on.listeningAfter(0, victim.workerId), 'a replacement'))
        .info;
      expect(replacement.address).toEqual(address);
      expect(replacement.pid).not.toBe(victim.pid);
      expect(pidsOf(await fixture.command<ClusterWorkerInfo[]>('workers'))).toEqual(
        [replacement.pid, survivor.pid].sort(),
      );
      // New connections reach the replacement too.
      const seen = new Set<number>();
      while (!seen.has(replacement.pid)) seen.add((await connectAndAsk(address)).who.pid);
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'the only worker dies and its replacement listens on the same port (not a new OS-chosen one)',
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '1' });
      const { address, workers } = await started(fixture);
      const only = workers[0] as ClusterWorkerInfo;
      await fixture.command('kill', 0);
      const replacement = (await fixture.waitFor(on.listeningAfter(0, only.workerId), 'a replacement')).info;
      expect(replacement.address).toEqual(address);
      const { who } = await connectAndAsk(address);
      expect(who).toMatchObject({ pid: replacement.pid, address });
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'restartWorker() replaces a worker without a gap: its request in flight finishes, its successor serves',
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '2' });
      const { address, workers } = await started(fixture);
      const old = workers.find((w) => w.slot === 1) as ClusterWorkerInfo;
      let onOld: RemotingClient | undefined;
      while (onOld === undefined) {
        const { client, who } = await connectAndAsk(address);
        if (who.pid === old.pid) onOld = client;
      }
      const sleep = RemotingCommand.createRequest(SLEEP);
      sleep.addExtField('sleepMs', '1500');
      const inFlight = onOld.invokeSync(`${address.host}:${address.port}`, sleep, 20_000);

      const successor = await fixture.command<ClusterWorkerInfo>('restart', 1);
      expect(successor).toMatchObject({ slot: 1, address });
      expect(successor.pid).not.toBe(old.pid);
      const answered = await inFlight;
      expect(answered.body?.toString()).toBe(String(old.pid));
      const exit = (await fixture.waitFor(on.exitOf(old.workerId), 'the old worker’s exit')).exit;
      expect(exit).toMatchObject({ reason: 'stopped', code: 0, restartInMs: null });
      const seen = new Set<number>();
      while (!seen.has(successor.pid)) seen.add((await connectAndAsk(address)).who.pid);
      expect(seen.has(old.pid)).toBe(false);
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'shutdown stops every worker gracefully, the port closes, and the primary exits on its own',
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '2' });
      const { address, workers } = await started(fixture);
      const { client } = await connectAndAsk(address);
      await fixture.command('shutdown');
      const exits = fixture.events.flatMap((e) => (e.event === 'workerExit' ? [e.exit] : []));
      expect(exits.map((e) => e.workerId).sort()).toEqual(workers.map((w) => w.workerId).sort());
      for (const exit of exits) expect(exit).toMatchObject({ reason: 'stopped', code: 0, restartInMs: null });
      await fixture.waitFor(on.stopped, 'the stopped report');
      expect(await fixture.exited).toEqual({ code: 0, signal: null });
      await expect(
        client.invokeSync(`${address.host}:${address.port}`, RemotingCommand.createRequest(WHO), 5000),
      ).rejects.toMatchObject({ code: 'REMOTING_CONNECT' });
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'a worker whose server does not start fails the whole start with the worker’s own error',
    async () => {
      const fixture = startClusterFixture({ CLUSTER_WORKERS: '2', CLUSTER_FAIL: 'all' });
      const report = await fixture.waitFor(on.startFailed, 'the start failure');
      expect(report.error).toMatchObject({
        name: 'ClusterWorkerStartError',
        code: 'REMOTING_CLUSTER_WORKER_START',
      });
      expect(report.error.message).toMatch(/cluster worker \d+ \(slot [01], pid \d+\) did not start/);
      expect(report.error.cause).toMatch(/was told to fail \(CLUSTER_FAIL=all\)/);
      expect(await fixture.exited).toEqual({ code: 0, signal: null });
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'replacements that keep failing are retried with a doubling back-off, then the cluster stops with the reason',
    async () => {
      const fixture = startClusterFixture({
        CLUSTER_WORKERS: '2',
        CLUSTER_FAIL: 'replacements',
        CLUSTER_RESTART: JSON.stringify({ maxRestarts: 2, initialDelayMs: 10 }),
      });
      await started(fixture);
      await fixture.command('kill', 0);
      const stopped = await fixture.waitFor(on.stopped, 'the cluster to give up');
      expect(stopped.error).toMatchObject({
        name: 'ClusterRestartLimitError',
        code: 'REMOTING_CLUSTER_RESTART_LIMIT',
      });
      expect(stopped.error?.message).toMatch(
        /did not start \(its server did not start: worker \d+ was told to fail.*\); 2 workers were replaced within 60000 ms \(restart.maxRestarts 2\), so the cluster stopped/,
      );
      const slot0 = fixture.events.flatMap((e) =>
        e.event === 'workerExit' && e.exit.slot === 0 ? [e.exit] : [],
      );
      expect(slot0.map((e) => [e.reason, e.restartInMs])).toEqual([
        ['died', 10],
        ['start-failed', 20],
        ['start-failed', null],
      ]);
      // The survivor was stopped too, and nothing is left running.
      const slot1 = fixture.events.flatMap((e) =>
        e.event === 'workerExit' && e.exit.slot === 1 ? [e.exit] : [],
      );
      expect(slot1).toMatchObject([{ reason: 'stopped', code: 0 }]);
      expect(await fixture.exited).toEqual({ code: 0, signal: null });
    },
    CLUSTER_PATIENCE_MS * 2,
  );
});

let tlsMaterial: { key: string; cert: string } | null = null;
let tlsSkipReason = '';
try {
  tlsMaterial = makeSelfSignedCertificate();
} catch (error) {
  tlsSkipReason = (error as Error).message;
}

describe.skipIf(tlsMaterial === null)('TLS permissive mode across the cluster', () => {
  test(
    'each worker sniffs the first byte of the connections handed to it: plain and TLS clients are both served',
    async () => {
      const material = tlsMaterial as { key: string; cert: string };
      const fixture = startClusterFixture({
        CLUSTER_WORKERS: '2',
        CLUSTER_TLS_MODE: 'permissive',
        TLS_KEY: material.key,
        TLS_CERT: material.cert,
      });
      const { address, workers } = await started(fixture);
      const plainPids = new Set<number>();
      const tlsPids = new Set<number>();
      // Plain, TLS, plain, ...: a cycle of three against round-robin over two hands
      // each worker both kinds. Every connection must be served, whichever worker takes it.
      for (let i = 0; i < 30 && (plainPids.size < 2 || tlsPids.size < 2); i++) {
        if (i % 3 === 1) {
          const secure = newClient({ connectTimeoutMs: 10_000, tls: { ca: material.cert } });
          tlsPids.add((await connectAndAsk(address, secure)).who.pid);
        } else {
          plainPids.add((await connectAndAsk(address)).who.pid);
        }
      }
      expect([...plainPids].sort()).toEqual(pidsOf(workers));
      expect([...tlsPids].sort()).toEqual(pidsOf(workers));
    },
    CLUSTER_PATIENCE_MS * 2,
  );
});

if (tlsMaterial === null) {
  console.warn(`cluster.test.ts: TLS permissive case skipped: ${tlsSkipReason}`);
}
