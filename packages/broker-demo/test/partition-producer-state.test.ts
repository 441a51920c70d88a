import { expect, test } from 'vitest';
import type { PartitionLog } from '../src/log/index.js';
import type { PartitionState } from '../src/protocol/cluster-state.js';
import { Acks } from '../src/protocol/codes.js';
import { type BatchProducer, encodeProducerBatch } from '../src/protocol/records-codec.js';
import { Partition } from '../src/replication/partition.js';
import { openLog, tempDir } from './log-fixtures.js';

/*
 * Where a replica's idempotent-producer state comes from, on real logs in
 * temporary directories: the batches themselves carry the producer id and
 * base sequence, so a follower knows the batches it copied and a reopened
 * log knows the batches it holds. A new leader must answer a producer's retry
 * of such a batch with the original offsets instead of appending it again.
 */

function replica(brokerId: number, log: PartitionLog): Partition {
  return new Partition({
    topic: 't',
    partition: 0,
    brokerId,
    log,
    replicaLagTimeMaxMs: 1000,
    proposeIsr: async () => null,
    startFollowing: async () => {},
    stopFollowing: async () => {},
  });
}

function decision(leader: number, leaderEpoch: number, isr: number[]): PartitionState {
  return { topic: 't', partition: 0, replicas: [1, 2], leader, leaderEpoch, isr, partitionEpoch: 0 };
}

const batch = (producer: BatchProducer, ...values: string[]) =>
  encodeProducerBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1 })),
    producer,
  );

const P = 42;

/** Follower 2 copies everything leader 1 has, as its fetcher would. */
async function replicate(leader: Partition, follower: Partition): Promise<void> {
  const fetched = await leader.fetch({
    fetchOffset: follower.log.logEndOffset,
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    replicaId: 2,
    currentLeaderEpoch: leader.leaderEpoch,
    replicaHighWatermark: -1,
  });
  try {
    await follower.appendFromLeader(fetched.bytes);
  } finally {
    fetched.release();
  }
}

/** Leader 1 with batches (P, 0) a b and (P, 2) c; follower 2 holding a copy of both. */
async function replicatedPair() {
  const followerDir = await tempDir();
  const leader = replica(1, await openLog({ dir: await tempDir() }));
  const follower = replica(2, await openLog({ dir: followerDir }));
  await leader.applyState(decision(1, 0, [1, 2]), 1);
  await follower.applyState(decision(1, 0, [1, 2]), 1);
  await leader.produce(batch({ producerId: P, sequence: 0 }, 'a', 'b'), Acks.LEADER, 1000);
  await leader.produce(batch({ producerId: P, sequence: 2 }, 'c'), Acks.LEADER, 1000);
  await replicate(leader, follower);
  expect(follower.log.logEndOffset).toBe(3);
  return { leader, follower, followerDir };
}

test('a follower made leader answers a retry of a batch it copied with the original offsets', async () => {
  const { follower } = await replicatedPair();
  await follower.applyState(decision(2, 1, [2]), 1);
  const retry = await follower.produce(batch({ producerId: P, sequence: 2 }, 'c'), Acks.LEADER, 1000);
  expect(retry).toMatchObject({ baseOffset: 2, lastOffset: 2, duplicate: true });
  expect(follower.log.logEndOffset).toBe(3);
  const next = await follower.produce(batch({ producerId: P, sequence: 3 }, 'd'), Acks.LEADER, 1000);
  expect(next).toMatchObject({ baseOffset: 3, duplicate: false });
});

test('a replica reopened from its log knows the batches in it: a retry is deduplicated, a gap refused', async () => {
  const { follower, followerDir } = await replicatedPair();
  await follower.log.close();
  // The broker restarts: a new Partition on the same directory, state rebuilt from the log.
  const reopened = replica(2, await openLog({ dir: followerDir }));
  expect(await reopened.loadProducerState()).toEqual({ batches: 2 });
  await reopened.applyState(decision(2, 1, [2]), 1);
  await expect(
    reopened.produce(batch({ producerId: P, sequence: 2 }, 'c'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 2, duplicate: true });
  await expect(
    reopened.produce(batch({ producerId: P, sequence: 0 }, 'a', 'b'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
  await expect(
    reopened.produce(batch({ producerId: P, sequence: 5 }, 'f'), Acks.LEADER, 1000),
  ).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE' });
  expect(reopened.log.logEndOffset).toBe(3);
  await expect(
    reopened.produce(batch({ producerId: P, sequence: 3 }, 'd'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 3, duplicate: false });
});

test('a batch a follower truncated away is appended again when retried, not answered from stale state', async () => {
  const { follower } = await replicatedPair();
  // KIP-101 cut the follower's log before the batch at offset 2.
  await follower.truncateTo(2);
  await follower.applyState(decision(2, 1, [2]), 1);
  const retry = await follower.produce(batch({ producerId: P, sequence: 2 }, 'c'), Acks.LEADER, 1000);
  expect(retry).toMatchObject({ baseOffset: 2, duplicate: false });
  expect(follower.log.logEndOffset).toBe(3);
});

test('a batch from a producer that is not idempotent leaves no producer state', async () => {
  const dir = await tempDir();
  const leader = replica(1, await openLog({ dir }));
  await leader.applyState(decision(1, 0, [1]), 1);
  await leader.produce(
    encodeProducerBatch([{ key: null, value: Buffer.from('x'), timestamp: 1 }]),
    Acks.LEADER,
    1000,
  );
  await leader.log.close();
  const reopened = replica(1, await openLog({ dir }));
  expect(await reopened.loadProducerState()).toEqual({ batches: 0 });
});
