import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
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
let client: ClusterClient | null = null;

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'corrupt-segment-test-'));
});

afterEach(async () => {
  await client?.close();
  await LocalCluster.stopAll();
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

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
  dir = mkdtempSync(path.join(base, 'leader-'));
  const cluster = await LocalCluster.start({
    ...DEMO_TIMINGS,
    brokers: 3,
    partitions: 1,
    replicationFactor: 3,
    minInsync: 2,
    dir,
    segmentBytes: 4096,
    flushMs: 0,
  });
  client = new ClusterClient(cluster.controllerAddress);
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
  dir = mkdtempSync(path.join(base, 'verify-'));
  const cluster = await LocalCluster.start({
    ...DEMO_TIMINGS,
    brokers: 3,
    partitions: 1,
    replicationFactor: 3,
    minInsync: 2,
    dir,
    segmentBytes: 4096,
    flushMs: 0,
    verifySegmentsOnStart: true,
  });
  client = new ClusterClient(cluster.controllerAddress);
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
