import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createTopic } from '../src/client/admin.js';
import { ClusterClient } from '../src/client/cluster-client.js';
import { runProduceWorkload } from '../src/client/workload.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { Acks } from '../src/protocol/codes.js';
import { controllerFailure } from '../src/scenarios/controller-failure.js';
import {
  checkReadBack,
  createTopicWithFullIsr,
  DEMO_TIMINGS,
  type ScenarioContext,
  waitForFullIsr,
  waitForMetadata,
} from '../src/scenarios/scenario-kit.js';
import { waitFor } from '../src/util/time.js';

/*
 * The cluster survives its controller: real processes, real SIGKILLs. One
 * file, so the clusters run one after the other.
 */

let baseDir: string;
const lines: string[] = [];
const ctx = (): ScenarioContext => ({ say: (line) => lines.push(line), baseDir });
const clients: ClusterClient[] = [];

beforeAll(() => {
  baseDir = mkdtempSync(path.join(os.tmpdir(), 'controller-failure-test-'));
});

afterEach(async (context) => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await LocalCluster.stopAll();
  if (context.task.result?.state === 'fail') console.log(lines.join('\n'));
  lines.length = 0;
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

async function start(name: string, extra: Partial<Parameters<typeof LocalCluster.start>[0]> = {}) {
  const cluster = await LocalCluster.start({
    ...DEMO_TIMINGS,
    brokers: 3,
    partitions: 1,
    replicationFactor: 3,
    minInsync: 2,
    dir: mkdtempSync(path.join(baseDir, `${name}-`)),
    ...extra,
  });
  const client = new ClusterClient(cluster.controllerAddress);
  clients.push(client);
  return { cluster, client };
}

describe('controller failure with real processes', () => {
  test('the leader dies while the controller is down: no acknowledged record lost, failover after the restart', async () => {
    const result = await controllerFailure(ctx(), { quietMs: 500 });
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.newLeader).not.toBe(result.killedLeader);
    expect(result.failoverAfterRestartMs).toBeGreaterThan(0);
    expect(result.acknowledgedAfterFailover).toBeGreaterThan(0);
    expect(result.passed).toBe(true);
  }, 120_000);

  test('a follower killed and restarted while the controller is down rejoins once it is back; acks=all works again', async () => {
    const { cluster, client } = await start('rejoin');
    const view = await createTopicWithFullIsr(client, 'rejoin', 3);
    const follower = view.isr.find((id) => id !== view.leader)!;
    const first = await runProduceWorkload(client, {
      topic: 'rejoin',
      acks: Acks.ALL,
      count: 10,
      keyPrefix: 'a',
    });
    expect(first.acknowledged).toHaveLength(10);

    await cluster.signalController('SIGKILL');
    await cluster.signalBroker(follower, 'SIGKILL');
    await cluster.startBroker(follower);
    await cluster.restartController();

    // The restarted follower registers with its new incarnation, re-fetches, and its leader proposes it back.
    const back = await waitForFullIsr(client, 'rejoin', 3, 30_000);
    expect(back.leader).toBe(view.leader);
    expect(back.leaderEpoch).toBe(view.leaderEpoch);
    const second = await runProduceWorkload(client, {
      topic: 'rejoin',
      acks: Acks.ALL,
      count: 10,
      keyPrefix: 'b',
    });
    expect(second.acknowledged).toHaveLength(10);
    const check = await checkReadBack(client, 'rejoin', 'a', first.acknowledged);
    expect(check.lost).toBe(0);
  }, 120_000);

  test('a follower killed while the controller is down leaves the ISR once the controller is back, so acks=all is answered', async () => {
    const { cluster, client } = await start('shrink');
    const view = await createTopicWithFullIsr(client, 'shrink', 3);
    const follower = view.isr.find((id) => id !== view.leader)!;
    await cluster.signalController('SIGKILL');
    await cluster.signalBroker(follower, 'SIGKILL');
    await cluster.restartController();
    await waitForMetadata(
      client,
      'shrink',
      `ISR without ${follower}`,
      (p) => !p.isr.includes(follower),
      30_000,
    );
    const run = await runProduceWorkload(client, {
      topic: 'shrink',
      acks: Acks.ALL,
      count: 5,
      keyPrefix: 's',
      retries: 20,
    });
    expect(run.acknowledged).toHaveLength(5);
  }, 120_000);

  test('the cluster restarts a controller that died, on the same address, with its state', async () => {
    const { cluster, client } = await start('auto', {
      brokers: 1,
      replicationFactor: 1,
      minInsync: 1,
      controllerRestartDelayMs: 100,
    });
    await createTopic(client, { topic: 'auto' });
    const before = await waitForMetadata(client, 'auto', 'a leader', (p) => p.leader === 1);
    const versionBefore = client.metadata!.version;
    const address = cluster.controllerAddress;
    const pidBefore = cluster.processes().find((p) => p.role === 'controller')!.pid;
    await cluster.signalController('SIGKILL');
    await waitFor(
      'the controller to be restarted',
      () => (cluster.isControllerRunning() ? true : undefined),
      20_000,
    );
    const info = cluster.processes().find((p) => p.role === 'controller')!;
    expect(info.pid).not.toBe(pidBefore);
    expect(cluster.controllerAddress).toBe(address);
    const fromController = new ClusterClient(address);
    clients.push(fromController);
    const after = await waitFor(
      'the restarted controller to answer',
      () => fromController.refresh('auto').catch(() => undefined),
      10_000,
    );
    expect(after.version).toBeGreaterThan(versionBefore);
    expect(after.partitions.find((p) => p.topic === 'auto')).toMatchObject({
      leader: 1,
      leaderEpoch: before.leaderEpoch,
    });
  }, 60_000);
});
