import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { ClusterClient } from '../src/client/cluster-client.js';
import { readTopic } from '../src/client/consumer.js';
import { parseWorkloadKey, runProduceWorkload } from '../src/client/workload.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { segmentFileName } from '../src/log/index.js';
import { Acks } from '../src/protocol/codes.js';
import {
  createTopicWithFullIsr,
  DEMO_TIMINGS,
  waitForFullIsr,
  waitForPartition,
} from '../src/scenarios/scenario-kit.js';

/*
 * A bit flipped in the leader's oldest segment while the cluster runs: the
 * leader finds it when serving a fetch (CRC), hands leadership to another ISR
 * member, truncates and re-fetches; a consumer still reads every record.
 */

let base: string;
let dir: string;
let openClient: ClusterClient | null = null;

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'corrupt-segment-test-'));
});

afterEach(async () => {
  await openClient?.close();
  openClient = null;
  await LocalCluster.stopAll();
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** 3 brokers with small segments (several per partition) fsyncing every append, and a client of them. */
async function startCluster(
  name: string,
  extra: { verifySegmentsOnStart?: boolean } = {},
): Promise<{ cluster: LocalCluster; client: ClusterClient }> {
  dir = mkdtempSync(path.join(base, name));
  const cluster = await LocalCluster.start({
    ...DEMO_TIMINGS,
    brokers: 3,
    partitions: 1,
    replicationFactor: 3,
    minInsync: 2,
    dir,
    segmentBytes: 4096,
    flushMs: 0,
    ...extra,
  });
  const started = new ClusterClient(cluster.controllerAddress);
  // Closed in afterEach, whatever the test did.
  openClient = started;
  return { cluster, client: started };
}

function flipByteInSecondBatch(file: string): number {
  const fd = openSync(file, 'r+');
  try {
    const header = Buffer.alloc(12);
    readSync(fd, header, 0, 12, 0);
    const secondBatch = 12 + header.readInt32BE(8);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, secondBatch + 40);
    byte[0]! ^= 0xff;
    writeSync(fd, byte, 0, 1, secondBatch + 40);
    return secondBatch;
  } finally {
    closeSync(fd);
  }
}

test('corruption in an older segment of the leader is detected, leadership moves, and nothing is lost', async () => {
  const { client } = await startCluster('leader-');
  await createTopicWithFullIsr(client, 'rot', 3);
  const produced = await runProduceWorkload(client, {
    topic: 'rot',
    acks: Acks.ALL,
    count: 150,
    keyPrefix: 'r',
    inFlight: 4,
  });
  expect(produced.acknowledged).toHaveLength(150);
  const view = await waitForFullIsr(client, 'rot', 3);
  const leader = view.leader;
  const partitionDir = path.join(dir, `broker-${leader}`, 'rot-0');
  const oldest = path.join(partitionDir, segmentFileName(0, '.log'));
  flipByteInSecondBatch(oldest);

  // Today's failure: the leader served the bad bytes and the consumer got LOG_CORRUPT_BATCH.
  const records = await readTopic(client, 'rot', { timeoutMs: 30_000 });
  const seqs = new Set(records.map((r) => parseWorkloadKey(r.key, 'r')));
  expect(produced.acknowledged.filter((a) => !seqs.has(a.seq))).toEqual([]);

  const after = await waitForPartition(
    client,
    'rot',
    'a new leader',
    (v) => v.leader >= 0 && v.leader !== leader,
  );
  expect(after.leaderEpoch).toBeGreaterThan(view.leaderEpoch);
  const brokerLog = readFileSync(path.join(dir, `broker-${leader}.log`), 'utf8');
  expect(brokerLog).toMatch(
    /CORRUPT batch at offset \d+: 00000000000000000000\.log byte \d+, \d+ bytes from there/,
  );
  expect(brokerLog).toMatch(/handed leadership to broker \d/);
  expect(brokerLog).toMatch(/truncating to offset \d+ \(before the corrupt batch\)/);
  // The damaged replica re-fetched what it cut and is back in the ISR.
  await waitForCaughtUpFollower(client, 'rot', leader);
}, 120_000);

test('with --verify-segments a restarted follower finds corruption in an older segment, says what it dropped, and re-fetches it', async () => {
  const { cluster, client } = await startCluster('verify-', { verifySegmentsOnStart: true });
  const view = await createTopicWithFullIsr(client, 'scrub', 3);
  const produced = await runProduceWorkload(client, {
    topic: 'scrub',
    acks: Acks.ALL,
    count: 150,
    keyPrefix: 's',
    inFlight: 4,
  });
  expect(produced.acknowledged).toHaveLength(150);
  const follower = view.isr.find((id) => id !== view.leader)!;
  await cluster.signalBroker(follower, 'SIGKILL');
  flipByteInSecondBatch(path.join(dir, `broker-${follower}`, 'scrub-0', segmentFileName(0, '.log')));
  await cluster.startBroker(follower);

  // Back in the ISR with the leader's LEO: it re-fetched what recovery cut off.
  await waitForCaughtUpFollower(client, 'scrub', follower);
  const brokerLog = readFileSync(path.join(dir, `broker-${follower}.log`), 'utf8');
  // The producer batches, so the second batch starts wherever the first one ended:
  // the log must end exactly there, at the corrupt batch's base offset.
  const report = brokerLog.match(
    /recovery cut \d+ bytes off 00000000000000000000\.log at byte \d+ \(log now ends at offset (\d+)\): corrupt batch at byte \d+: CRC mismatch at base offset (\d+).*; dropped the segments after it: 0+\d+\.log \(\d+ bytes\)/,
  );
  expect(report, brokerLog).not.toBeNull();
  const [, endsAt, corruptBase] = report as RegExpMatchArray;
  expect(Number(endsAt)).toBeGreaterThan(0);
  expect(endsAt).toBe(corruptBase);
}, 120_000);

test('corruption found at start-up is repaired like corruption found on a fetch: the replica, made leader, loses nothing and ends byte-identical', async () => {
  const { cluster, client } = await startCluster('startup-');
  const start = await createTopicWithFullIsr(client, 'boot', 3);
  // The preferred leader (first replica) leads: it is the one the damage goes to.
  const victim = start.replicas[0]!.brokerId;
  expect(start.leader).toBe(victim);
  const first = await runProduceWorkload(client, {
    topic: 'boot',
    acks: Acks.ALL,
    count: 150,
    keyPrefix: 'b',
    inFlight: 4,
  });
  expect(first.acknowledged).toHaveLength(150);
  await waitForFullIsr(client, 'boot', 3);

  // Stopped, one byte flipped in its oldest segment (not the last, which recovery scans), started again.
  await cluster.signalBroker(victim, 'SIGTERM');
  const oldest = path.join(dir, `broker-${victim}`, 'boot-0', segmentFileName(0, '.log'));
  expect(segmentsOf(dir, victim).length).toBeGreaterThan(2);
  flipByteInSecondBatch(oldest);
  await cluster.startBroker(victim);

  // It finds the damage while opening (its producer-state scan reads every batch), cuts its log
  // before it, fetches the rest again and rejoins the ISR: caught up with the leader's LEO.
  await waitForCaughtUpFollower(client, 'boot', victim);
  const brokerLog = readFileSync(path.join(dir, `broker-${victim}.log`), 'utf8');
  const found = /CORRUPT batch at offset (\d+): 00000000000000000000\.log byte \d+/.exec(brokerLog);
  expect(found, brokerLog).not.toBeNull();
  expect(brokerLog).toContain(
    `truncating to offset ${found![1]} (before the corrupt batch) to fetch it again from the leader`,
  );

  // Made the preferred leader again: the current leader dies, and the first ISR member in replica
  // order (the repaired replica) is elected.
  const before = await waitForFullIsr(client, 'boot', 3);
  await cluster.signalBroker(before.leader, 'SIGKILL');
  const led = await waitForPartition(
    client,
    'boot',
    `broker ${victim} leading`,
    (v) =>
      v.leader === victim && v.replicas.some((r) => r.brokerId === victim && r.status?.role === 'leader'),
    30_000,
  );
  expect(led.leaderEpoch).toBeGreaterThan(before.leaderEpoch);

  // It serves everything: every acknowledged record reads back through it, and it takes more.
  const second = await runProduceWorkload(client, {
    topic: 'boot',
    acks: Acks.ALL,
    count: 50,
    keyPrefix: 'c',
    inFlight: 4,
    retries: 40,
  });
  expect(second.acknowledged).toHaveLength(50);
  const records = await readTopic(client, 'boot', { timeoutMs: 30_000 });
  const seqs = new Set(records.map((r) => parseWorkloadKey(r.key, 'b')));
  expect(first.acknowledged.filter((a) => !seqs.has(a.seq))).toEqual([]);
  expect(records).toHaveLength(200);

  // Every replica ends with the same bytes.
  await cluster.startBroker(before.leader);
  const settled = await waitForFullIsr(client, 'boot', 3, 60_000);
  await waitForPartition(client, 'boot', 'every replica at the leader LEO', (v) =>
    v.replicas.every((r) => r.status?.logEndOffset === 200 && r.status.highWatermark === 200),
  );
  const bytes = settled.replicas.map((r) => logBytes(dir, r.brokerId));
  expect(bytes[0]!.length).toBeGreaterThan(0);
  for (const b of bytes) expect(b.equals(bytes[0]!)).toBe(true);
}, 240_000);

/** The replica's segment files of topic boot, in offset order. */
function segmentsOf(clusterDir: string, brokerId: number): string[] {
  const partitionDir = path.join(clusterDir, `broker-${brokerId}`, 'boot-0');
  return readdirSync(partitionDir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => path.join(partitionDir, name));
}

/** A replica's whole log as bytes: its segments end to end (where segments roll does not matter). */
function logBytes(clusterDir: string, brokerId: number): Buffer {
  return Buffer.concat(segmentsOf(clusterDir, brokerId).map((file) => readFileSync(file)));
}

/** Waits until `brokerId` follows again, in the ISR, with the leader's LEO: it re-fetched what it cut. */
async function waitForCaughtUpFollower(
  client: ClusterClient,
  topic: string,
  brokerId: number,
): Promise<void> {
  await waitForPartition(
    client,
    topic,
    `broker ${brokerId} back in the ISR with the leader's LEO`,
    (v) => {
      const mine = v.replicas.find((r) => r.brokerId === brokerId)?.status;
      const leading = v.replicas.find((r) => r.brokerId === v.leader)?.status;
      return (
        v.isr.includes(brokerId) && mine?.role === 'follower' && mine.logEndOffset === leading?.logEndOffset
      );
    },
    30_000,
  );
}
