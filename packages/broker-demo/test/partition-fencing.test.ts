import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { PartitionLog } from '../src/log/index.js';
import { Acks } from '../src/protocol/codes.js';
import { BrokerError } from '../src/protocol/errors.js';
import { encodeProducerBatch } from '../src/protocol/records-codec.js';
import { Partition } from '../src/replication/partition.js';

/*
 * A leader whose session with the coordination is not valid (an etcd lease
 * it cannot prove alive) acknowledges no acks=all write: refused before the
 * append, failed while waiting for the HW, whatever the HW does afterwards.
 * acks=1 goes on: it never promised more than the leader's own log.
 */

let dir: string;
let log: PartitionLog;
let valid: boolean;
let partition: Partition;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'partition-fencing-'));
  log = await PartitionLog.open({ dir, flush: { mode: 'interval', intervalMs: 1000 } });
  valid = true;
  partition = new Partition({
    topic: 't',
    partition: 0,
    brokerId: 1,
    log,
    replicaLagTimeMaxMs: 60_000,
    proposeIsr: async () => null,
    startFollowing: async () => undefined,
    stopFollowing: async () => undefined,
    sessionValid: () => valid,
  });
  await partition.applyState(
    { topic: 't', partition: 0, replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 },
    2,
  );
});

afterEach(async () => {
  partition.abandon();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const batch = (text: string) => encodeProducerBatch([{ key: null, value: Buffer.from(text), timestamp: 0 }]);
const followerFetch = (fetchOffset: number) =>
  partition.fetch({
    fetchOffset,
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    replicaId: 2,
    currentLeaderEpoch: 0,
    replicaHighWatermark: -1,
  });

test('acks=all is refused before the append while the session is not valid; acks=1 is still taken', async () => {
  valid = false;
  const refused = await partition.produce(batch('a'), Acks.ALL, 5000).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BrokerError);
  expect((refused as BrokerError).code).toBe('BROKER_FENCED');
  expect((refused as BrokerError).retriable).toBe(true);
  expect((refused as BrokerError).appended).toBe(false);
  expect(log.logEndOffset).toBe(0);
  const taken = await partition.produce(batch('b'), Acks.LEADER, 5000);
  expect(taken.baseOffset).toBe(0);
});

test('an acks=all wait is failed once the session lapses, and a follower catching up afterwards acknowledges nothing', async () => {
  const waiting = partition.produce(batch('a'), Acks.ALL, 30_000).catch((e: unknown) => e);
  await expect.poll(() => log.logEndOffset).toBe(1);
  valid = false;
  // The broker's periodic tick is what notices a lapse with nothing else happening.
  partition.checkIsr();
  const failed = (await waiting) as BrokerError;
  expect(failed.code).toBe('BROKER_FENCED');
  expect(failed.appended).toBe(true);

  // Nothing more is appended for acks=all; a late follower fetch commits the first batch
  // (the HW moves), but its producer was already told to retry elsewhere.
  const second = partition.produce(batch('b'), Acks.ALL, 30_000).catch((e: unknown) => e);
  expect(((await second) as BrokerError).code).toBe('BROKER_FENCED');
  expect(log.logEndOffset).toBe(1);
  (await followerFetch(1)).release();
  expect(partition.highWatermark).toBe(1);
});

test('with a valid session the same leader acknowledges once the follower has the batch', async () => {
  const waiting = partition.produce(batch('a'), Acks.ALL, 30_000);
  await expect.poll(() => log.logEndOffset).toBe(1);
  (await followerFetch(1)).release();
  await expect(waiting).resolves.toMatchObject({ baseOffset: 0, lastOffset: 0 });
});
