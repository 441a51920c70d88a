import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { ClusterClient } from '../src/client/cluster-client.js';
import { Producer } from '../src/client/producer/producer.js';
import { type AckedRecord, type WorkloadResult, workloadKey } from '../src/client/workload.js';
import { etcdAvailability, LocalEtcd } from '../src/coordination/etcd/local-etcd.js';
import { Acks } from '../src/protocol/codes.js';
import { checkReadBack, produceUntilStopped } from '../src/scenarios/scenario-kit.js';
import { waitFor } from '../src/util/time.js';
import { EtcdFaultCluster } from './support/etcd-fault-cluster.js';

/*
 * The faults only a real network has, on real processes and a real etcd:
 * three brokers on 127.0.0.1, .2 and .3, a proxy of the test's own on every
 * broker-to-broker and broker-to-etcd link, acks=all and
 * min.insync.replicas=2. Each scenario prints its figures (time to a new
 * leader, records acknowledged, lost, duplicated).
 */

const available = etcdAvailability();
if (!available.ok) console.log(`etcd fault scenarios skipped: ${available.reason}`);

/** The brokers' session TTL: a broker silent this long is dead to the cluster. */
const SESSION_MS = 3000;
const TIMINGS = { replicaLagTimeMaxMs: 1500, sessionTimeoutMs: SESSION_MS, fetchWaitMs: 300 } as const;
/**
 * Answers are timed when this process reads them: one a broker sent just
 * before it fenced itself may be read this much later on a loaded machine.
 */
const DELIVERY_SLACK_MS = 500;

let baseDir: string;
let harness: EtcdFaultCluster | null = null;

beforeAll(() => {
  baseDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-faults-'));
});

afterEach(async (context) => {
  const h = harness;
  harness = null;
  if (h !== null && context.task.result?.state === 'fail') {
    for (const id of h.cluster.brokerIds) {
      const log = h.cluster.brokerInfo(id)?.logFile;
      if (log !== undefined)
        console.log(`--- ${log} ---\n${readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')}`);
    }
  }
  await h?.stop();
  await LocalEtcd.closeAll();
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

/** The scenarios' acks=all producer (one record in flight, retrying through failovers), with the time of every ack. */
function startProducer(client: ClusterClient, topic: string, keyPrefix: string) {
  const ackTimes: number[] = [];
  const running = produceUntilStopped(client, topic, keyPrefix, {
    retries: 1000,
    requestTimeoutMs: 3000,
    onAck: () => ackTimes.push(Date.now()),
  });
  return {
    ackTimes,
    ackedSince: (t: number) => ackTimes.filter((a) => a >= t).length,
    waitForAcks: (n: number, since = 0, what = `${n} acknowledgements`) =>
      waitFor(what, () => (ackTimes.filter((a) => a >= since).length >= n ? true : undefined), 90_000, 50),
    stop: (): Promise<WorkloadResult> => {
      running.stop();
      return running.result;
    },
  };
}

function report(scenario: string, figures: Record<string, unknown>): void {
  console.log(`[etcd scenario] ${scenario}: ${JSON.stringify(figures)}`);
}

async function start(etcdMembers: number, sessionTimeoutMs = SESSION_MS): Promise<EtcdFaultCluster> {
  harness = await EtcdFaultCluster.start({
    dir: mkdtempSync(path.join(baseDir, 'c-')),
    etcdMembers,
    cluster: { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2, ...TIMINGS, sessionTimeoutMs },
  });
  return harness;
}

function fullIsr(h: EtcdFaultCluster, topic: string, partitions: number): boolean {
  for (let p = 0; p < partitions; p++) if ((h.partitionState(topic, p)?.isr.length ?? 0) < 3) return false;
  return true;
}

describe.skipIf(!available.ok)('etcd-coordinated brokers under network faults', () => {
  test('the broker that is the controller is SIGKILLed: another takes over within the lease time, nothing acknowledged is lost', async () => {
    const h = await start(1);
    await h.createTopic('ctl', 3, 3, 2);
    await h.waitForEtcd('a full ISR everywhere', () => fullIsr(h, 'ctl', 3));
    const client = h.client();
    const producer = startProducer(client, 'ctl', 'c');
    await producer.waitForAcks(30);

    const controller = h.controllerId()!;
    const led = [0, 1, 2].find((p) => h.partitionState('ctl', p)?.leader === controller)!;
    const epochBefore = h.mirror.state.activeControllerEpoch!.epoch;
    const killedAt = Date.now();
    await h.cluster.signalBroker(controller, 'SIGKILL');
    await h.waitForEtcd('a new controller', () => {
      const c = h.mirror.state.activeControllerEpoch;
      return c !== null && c.brokerId !== controller;
    });
    const newControllerAfterMs = Date.now() - killedAt;
    await h.waitForEtcd(`a new leader of ctl-${led}`, () => {
      const s = h.partitionState('ctl', led);
      return s !== undefined && s.leader >= 0 && s.leader !== controller;
    });
    const change = h.leaderChanges.find(
      (c) => c.partition === led && c.atMs >= killedAt && c.leader !== controller,
    )!;
    const newLeaderAfterMs = change.atMs - killedAt;
    const failedOverAt = Date.now();
    await producer.waitForAcks(30, failedOverAt, '30 acknowledgements after the failover');
    const result = await producer.stop();
    const check = await checkReadBack(client, 'ctl', 'c', result.acknowledged);
    const figures = {
      killedController: controller,
      controllerEpoch: `${epochBefore} -> ${h.mirror.state.activeControllerEpoch?.epoch}`,
      newControllerAfterMs,
      newLeaderAfterMs,
      acknowledged: result.acknowledged.length,
      lost: check.lost,
      duplicated: check.duplicates,
    };
    report('controller killed', figures);
    expect(h.mirror.state.activeControllerEpoch!.epoch).toBeGreaterThan(epochBefore);
    // Within the lease time: the session TTL, plus etcd's expiry sweep and the new controller's first pass.
    expect(newControllerAfterMs).toBeLessThan(SESSION_MS + 5000);
    expect(check.lost).toBe(0);
    expect(check.duplicates).toBe(0);
    expect(check.outOfOrder).toBe(0);
  }, 240_000);

  test('a leader cut off from etcd and the followers (not the producer) is fenced: a new leader from the ISR, the old one truncates on return, nothing acknowledged lost', async () => {
    const h = await start(1);
    await h.createTopic('iso', 1, 3, 2);
    await h.waitForEtcd('a full ISR', () => fullIsr(h, 'iso', 1));
    const client = h.client();
    const producer = startProducer(client, 'iso', 'i');
    await producer.waitForAcks(30);

    const before = h.partitionState('iso')!;
    const oldLeader = before.leader;
    const oldLeaderAddress = h.brokerProxies.get(oldLeader)!.address;
    const wasController = h.controllerId() === oldLeader;
    const cutAt = Date.now();
    h.blackhole(oldLeader);
    // An acks=1 record the cut-off leader takes (it answers as soon as it has appended) reaches no
    // follower: it is what the old leader must truncate on return, whatever the timing of the
    // acks=all producer's own in-flight record.
    const strandedAcks1 = await produceWithCachedMetadata(client, 'iso', 'stranded', 1);
    expect(strandedAcks1.acknowledged).toHaveLength(1);
    await h.waitForEtcd('a new leader', () => {
      const s = h.partitionState('iso');
      return s !== undefined && s.leader >= 0 && s.leader !== oldLeader;
    });
    const after = h.partitionState('iso')!;
    const electedAt = h.leaderChanges.find((c) => c.leaderEpoch === after.leaderEpoch)!.atMs;
    await producer.waitForAcks(30, electedAt, '30 acknowledgements from the new leader');
    const oldLeaderLogSize = readFileSync(h.cluster.brokerInfo(oldLeader)!.logFile, 'utf8').length;

    h.heal(oldLeader);
    await h.waitForEtcd(`broker ${oldLeader} back in the ISR`, () => fullIsr(h, 'iso', 1), 90_000);
    const healedLog = readFileSync(h.cluster.brokerInfo(oldLeader)!.logFile, 'utf8').slice(oldLeaderLogSize);
    const result = await producer.stop();
    const check = await checkReadBack(client, 'iso', 'i', result.acknowledged);
    // Its session could be valid at most one TTL after its last keepalive, which was before the cut.
    const fencedBy = cutAt + SESSION_MS + DELIVERY_SLACK_MS;
    const fromOldLeader = (from: number) =>
      h.produceAnswers.filter((a) => a.ok && a.address === oldLeaderAddress && a.atMs >= from).length;
    const figures = {
      oldLeader,
      wasController,
      newLeader: after.leader,
      leaderEpoch: `${before.leaderEpoch} -> ${after.leaderEpoch}`,
      newLeaderAfterMs: electedAt - cutAt,
      acknowledgedByOldLeaderAfterCut: fromOldLeader(cutAt),
      acknowledgedByOldLeaderAfterFence: fromOldLeader(fencedBy),
      acknowledged: result.acknowledged.length,
      lost: check.lost,
      duplicated: check.duplicates,
    };
    report('leader cut off', figures);
    expect(before.isr).toContain(after.leader);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(fromOldLeader(fencedBy)).toBe(0);
    // It had appended the stranded acks=1 record (and perhaps the producer's next batch); the new
    // leader never had them, so it cut them off before it followed.
    expect(healedLog).toMatch(/truncating \d+ -> \d+/);
    expect(await readKeys(client, 'iso')).not.toContain(workloadKey('stranded', 0));
    expect(check.lost).toBe(0);
    expect(check.duplicates).toBe(0);
    expect(check.outOfOrder).toBe(0);
  }, 240_000);

  test('one member of a three-member etcd cluster is killed: nothing stops', async () => {
    // A session outlives an etcd leader election (election timeout 1.5 s here, then a round):
    // 6 s, the default of `broker start`.
    const h = await start(3, 6000);
    await h.createTopic('quorum', 1, 3, 2);
    await h.waitForEtcd('a full ISR', () => fullIsr(h, 'quorum', 1));
    const client = h.client();
    const producer = startProducer(client, 'quorum', 'q');
    await producer.waitForAcks(30);
    const before = h.partitionState('quorum')!;
    const controllerEpoch = h.mirror.state.activeControllerEpoch!.epoch;
    const leaderIndex = await etcdLeaderIndex(h.etcd);
    const killedAt = Date.now();
    await h.etcd.kill(leaderIndex);
    // Long enough for every broker to have renewed its session through the survivors twice.
    await waitFor(
      'two session TTLs after the kill',
      () => (Date.now() - killedAt > 12_000 ? true : undefined),
      60_000,
      200,
    );
    await producer.waitForAcks(30, killedAt, '30 acknowledgements after the kill');
    const result = await producer.stop();
    const check = await checkReadBack(client, 'quorum', 'q', result.acknowledged);
    const afterKill = producer.ackTimes.filter((t) => t >= killedAt);
    let longestGapMs = 0;
    for (let i = 1; i < afterKill.length; i++)
      longestGapMs = Math.max(longestGapMs, afterKill[i]! - afterKill[i - 1]!);
    const figures = {
      killedEtcdMember: `member-${leaderIndex + 1} (the raft leader)`,
      newLeaderAfterMs: null,
      leaderEpoch: `${before.leaderEpoch} -> ${h.partitionState('quorum')!.leaderEpoch}`,
      acknowledgedAfterKill: afterKill.length,
      longestGapBetweenAcksMs: longestGapMs,
      acknowledged: result.acknowledged.length,
      lost: check.lost,
      duplicated: check.duplicates,
    };
    report('one etcd member killed', figures);
    expect(h.partitionState('quorum')!.leaderEpoch).toBe(before.leaderEpoch);
    expect(h.mirror.state.activeControllerEpoch!.epoch).toBe(controllerEpoch);
    expect(afterKill.length).toBeGreaterThanOrEqual(30);
    expect(check.lost).toBe(0);
    expect(check.duplicates).toBe(0);
  }, 240_000);

  test('all of etcd stops for 10 s: leaders keep serving what they can, nothing acknowledged is lost, the cluster heals', async () => {
    const h = await start(1);
    await h.createTopic('outage', 1, 3, 2);
    await h.createTopic('outage-acks1', 1, 3, 2);
    await h.waitForEtcd('a full ISR', () => fullIsr(h, 'outage', 1) && fullIsr(h, 'outage-acks1', 1));
    const client = h.client();
    const side = h.client();
    await side.refresh('outage');
    await side.refresh('outage-acks1');
    const producer = startProducer(client, 'outage', 'o');
    await producer.waitForAcks(30);
    const before = h.partitionState('outage')!;
    const stoppedAt = Date.now();
    await h.etcd.kill(0);
    // Past every broker's session: from here on acks=all is refused everywhere (no broker can prove it is not deposed).
    await waitFor(
      'every session to lapse',
      () => (Date.now() - stoppedAt > SESSION_MS + 500 ? true : undefined),
      30_000,
      100,
    );
    const ackedBeforeFence = producer.ackedSince(stoppedAt);
    // What a leader still serves without etcd: acks=1 writes and committed reads (clients with metadata).
    const acks1 = await produceWithCachedMetadata(side, 'outage-acks1', 'w', 20);
    const committed = await readCommitted(side, 'outage');
    await waitFor('10 s of outage', () => (Date.now() - stoppedAt >= 10_000 ? true : undefined), 30_000, 100);
    const restartedAt = Date.now();
    await h.etcd.restart(0);
    await producer.waitForAcks(1, restartedAt, 'an acknowledgement after etcd is back');
    const healedAfterMs = producer.ackTimes.find((t) => t >= restartedAt)! - restartedAt;
    await producer.waitForAcks(30, restartedAt, '30 acknowledgements after etcd is back');
    const result = await producer.stop();
    const check = await checkReadBack(client, 'outage', 'o', result.acknowledged);
    const acks1Check = await checkReadBack(side, 'outage-acks1', 'w', acks1.acknowledged);
    const figures = {
      outageMs: restartedAt - stoppedAt,
      newLeaderAfterMs: null,
      leaderEpoch: `${before.leaderEpoch} -> ${h.partitionState('outage')!.leaderEpoch}`,
      acknowledgedInOutageBeforeSessionsLapsed: ackedBeforeFence,
      acknowledgedInOutageAfter: producer.ackTimes.filter(
        (t) => t >= stoppedAt + SESSION_MS + DELIVERY_SLACK_MS && t < restartedAt,
      ).length,
      acks1AcknowledgedDuringOutage: acks1.acknowledged.length,
      committedReadDuringOutage: committed,
      firstAckAfterEtcdBackMs: healedAfterMs,
      acknowledged: result.acknowledged.length,
      lost: check.lost + acks1Check.lost,
      duplicated: check.duplicates,
    };
    report('all of etcd stopped 10 s', figures);
    expect(acks1.acknowledged).toHaveLength(20);
    expect(committed).toBeGreaterThan(0);
    expect(figures.acknowledgedInOutageAfter).toBe(0);
    expect(h.partitionState('outage')!.leaderEpoch).toBe(before.leaderEpoch);
    expect(check.lost).toBe(0);
    expect(check.duplicates).toBe(0);
    expect(acks1Check.lost).toBe(0);
  }, 240_000);
});

/** The index of the member that is etcd's raft leader (asked through etcd's JSON gateway). */
async function etcdLeaderIndex(etcd: LocalEtcd): Promise<number> {
  const statuses = await Promise.all(
    etcd.members.map(async (m) => {
      const response = await fetch(`http://127.0.0.1:${m.clientPort}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
      });
      return (await response.json()) as { header: { member_id: string }; leader: string };
    }),
  );
  const index = statuses.findIndex((s) => s.header.member_id === s.leader);
  if (index < 0) throw new Error('no etcd member says it leads');
  return index;
}

/**
 * acks=1 records sent with the metadata the client already has: while every
 * broker is fenced none answers metadata, but a leader still takes acks=1 writes.
 */
async function produceWithCachedMetadata(
  client: ClusterClient,
  topic: string,
  keyPrefix: string,
  count: number,
) {
  const producer = new Producer(client, { acks: Acks.LEADER, retries: 0 });
  const sends = Array.from({ length: count }, (_, seq) =>
    producer
      .send({
        topic,
        partition: 0,
        key: Buffer.from(workloadKey(keyPrefix, seq)),
        value: Buffer.from(`v${seq}`),
      })
      .then(
        (m): AckedRecord => ({
          key: workloadKey(keyPrefix, seq),
          seq,
          partition: 0,
          offset: m.offset,
          attempts: 1,
          retriedAfter: [],
          deduplicated: false,
          maybeDuplicated: false,
          latencyMs: 0,
        }),
      ),
  );
  const settled = await Promise.allSettled(sends);
  await producer.close();
  return { acknowledged: settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) };
}

/** The keys of partition 0's committed records. */
async function readKeys(client: ClusterClient, topic: string): Promise<string[]> {
  const { readPartitionToHighWatermark } = await import('../src/client/consumer.js');
  const { records } = await readPartitionToHighWatermark(client, topic, 0, { timeoutMs: 5000 });
  return records.map((r) => r.key?.toString() ?? '');
}

/** Committed records of partition 0 read with the metadata the client has (no refresh needed). */
async function readCommitted(client: ClusterClient, topic: string): Promise<number> {
  const { readPartitionToHighWatermark } = await import('../src/client/consumer.js');
  const { records } = await readPartitionToHighWatermark(client, topic, 0, { timeoutMs: 5000 });
  return records.length;
}
