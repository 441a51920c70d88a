import { expect, test } from 'vitest';
import type { PartitionLog } from '../src/log/index.js';
import type { PartitionState } from '../src/protocol/cluster-state.js';
import { Acks, BrokerResponseCode, NO_LEADER } from '../src/protocol/codes.js';
import { BrokerError } from '../src/protocol/errors.js';
import { encodeProducerBatch, stampBatch } from '../src/protocol/records-codec.js';
import { Partition } from '../src/replication/partition.js';
import { makeRecords, openLog, tempDir } from './log-fixtures.js';

/*
 * The controller-driven transitions of one replica (broker 1), on a real log
 * in a temporary directory. The fetcher callbacks are the broker's seams:
 * they record what the replica asked of them.
 */

const LOCAL_BROKER = 1;

interface Replica {
  partition: Partition;
  log: PartitionLog;
  /** Every call of the startFollowing / stopFollowing seams, in order. */
  followCalls: string[];
}

async function replica(): Promise<Replica> {
  const log = await openLog({ dir: await tempDir(), flush: { mode: 'interval', intervalMs: 1000 } });
  const followCalls: string[] = [];
  const partition = new Partition({
    topic: 't',
    partition: 0,
    brokerId: LOCAL_BROKER,
    log,
    replicaLagTimeMaxMs: 1000,
    proposeIsr: async () => null,
    startFollowing: async (_p, s) => {
      followCalls.push(`start following ${s.leader} in epoch ${s.leaderEpoch}`);
    },
    stopFollowing: async () => {
      followCalls.push('stop following');
    },
  });
  return { partition, log, followCalls };
}

/** The controller's decision for partition t-0 over replicas 1, 2, 3. */
function decision(fields: {
  leader: number;
  leaderEpoch: number;
  isr?: number[];
  partitionEpoch?: number;
}): PartitionState {
  return {
    topic: 't',
    partition: 0,
    replicas: [1, 2, 3],
    leader: fields.leader,
    leaderEpoch: fields.leaderEpoch,
    isr: fields.isr ?? [1, 2, 3],
    partitionEpoch: fields.partitionEpoch ?? 0,
  };
}

const batchOf = (count: number) => encodeProducerBatch(makeRecords(count, 'r', 16));
/** A batch as the leader sends it: base offset and leader epoch 0 stamped in. */
const stampedAt = (baseOffset: number, batch: Buffer) => {
  stampBatch(batch, baseOffset, 0);
  return batch;
};

function followerFetch(p: Partition, fields: { follower: number; fetchOffset: number; epoch: number }) {
  return p.fetch({
    fetchOffset: fields.fetchOffset,
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    replicaId: fields.follower,
    currentLeaderEpoch: fields.epoch,
    replicaHighWatermark: -1,
  });
}

test('the first decision naming this broker leader makes it leader and opens the epoch in its log', async () => {
  const { partition, log, followCalls } = await replica();
  const transition = await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 3 }), 1);
  expect(transition).toBe('made-leader');
  expect(partition.currentRole).toBe('leader');
  expect(partition.leaderEpoch).toBe(3);
  // KIP-101: the epoch cache says where epoch 3 starts, for followers asking later.
  expect(log.latestEpoch()).toBe(3);
  expect(followCalls).toEqual(['stop following']);
});

test('a leader told of another leader in a newer epoch becomes follower: its acks=all waits answer NOT_LEADER as appended', async () => {
  const { partition, followCalls } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 0 }), 2);
  const waiting = partition.produce(batchOf(2), Acks.ALL, 10_000);
  await new Promise((resolve) => setImmediate(resolve));

  const transition = await partition.applyState(
    decision({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 }),
    2,
  );

  expect(transition).toBe('made-follower');
  expect(partition.currentRole).toBe('follower');
  const err = await waiting.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  expect((err as BrokerError).responseCode).toBe(BrokerResponseCode.NOT_LEADER);
  expect((err as BrokerError).details?.appended).toBe('true');
  expect(followCalls.at(-1)).toBe('start following 2 in epoch 1');
  // A follower serves no produce.
  await expect(partition.produce(batchOf(1), Acks.LEADER, 1000)).rejects.toMatchObject({
    responseCode: BrokerResponseCode.NOT_LEADER,
  });
});

test('a follower named leader in a bumped epoch stops its fetcher first and keeps the HW the old leader sent', async () => {
  const { partition, log, followCalls } = await replica();
  await partition.applyState(decision({ leader: 2, leaderEpoch: 0 }), 1);
  await partition.appendFromLeader(batchOf(5));
  partition.updateFollowerHighWatermark(3);

  const transition = await partition.applyState(
    decision({ leader: LOCAL_BROKER, leaderEpoch: 1, isr: [1, 3] }),
    1,
  );

  expect(transition).toBe('made-leader');
  expect(followCalls).toEqual(['start following 2 in epoch 0', 'stop following']);
  expect(log.latestEpoch()).toBe(1);
  // The HW is not recomputed from nothing: records 0..2 stay visible to consumers.
  expect(partition.highWatermark).toBe(3);
  expect(partition.status().isr).toEqual([1, 3]);
});

test('a leader whose partition loses its leader goes offline: waits end NOT_LEADER, the fetcher stays stopped', async () => {
  const { partition, followCalls } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 0 }), 2);
  const waiting = partition.produce(batchOf(1), Acks.ALL, 10_000);
  await new Promise((resolve) => setImmediate(resolve));

  const transition = await partition.applyState(decision({ leader: NO_LEADER, leaderEpoch: 1, isr: [1] }), 2);

  expect(transition).toBe('made-offline');
  expect(partition.currentRole).toBe('offline');
  await expect(waiting).rejects.toMatchObject({ responseCode: BrokerResponseCode.NOT_LEADER });
  expect(followCalls.at(-1)).toBe('stop following');
  await expect(followerFetch(partition, { follower: 2, fetchOffset: 0, epoch: 1 })).rejects.toMatchObject({
    responseCode: BrokerResponseCode.NOT_LEADER,
  });
});

test('an ISR change in the same leader epoch keeps the leader, its followers LEOs and its HW', async () => {
  const { partition } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 0, isr: [1, 2, 3] }), 1);
  await partition.produce(batchOf(4), Acks.LEADER, 1000);
  (await followerFetch(partition, { follower: 2, fetchOffset: 4, epoch: 0 })).release();
  expect(partition.highWatermark).toBe(0);

  // The controller drops the silent follower 3: the HW is then min LEO over [1, 2].
  const transition = await partition.applyState(
    decision({ leader: LOCAL_BROKER, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 }),
    1,
  );

  expect(transition).toBe('isr-updated');
  expect(partition.highWatermark).toBe(4);
  expect(partition.status().followers.find((f) => f.brokerId === 2)?.leo).toBe(4);
});

test('an older leader epoch, or an older partition epoch in the same leader epoch, is ignored', async () => {
  const { partition, followCalls } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 2, partitionEpoch: 5 }), 1);

  const olderLeaderEpoch = await partition.applyState(
    decision({ leader: 2, leaderEpoch: 1, partitionEpoch: 9 }),
    1,
  );
  const olderPartitionEpoch = await partition.applyState(
    decision({ leader: LOCAL_BROKER, leaderEpoch: 2, isr: [1], partitionEpoch: 4 }),
    1,
  );

  expect(olderLeaderEpoch).toBe('ignored-stale');
  expect(olderPartitionEpoch).toBe('ignored-stale');
  expect(partition.currentRole).toBe('leader');
  expect(partition.status().isr).toEqual([1, 2, 3]);
  expect(followCalls).toEqual(['stop following']);
});

test('a follower told the same leader and epoch again (an ISR change) does not restart its fetcher', async () => {
  const { partition, followCalls } = await replica();
  await partition.applyState(decision({ leader: 2, leaderEpoch: 4 }), 1);

  const transition = await partition.applyState(
    decision({ leader: 2, leaderEpoch: 4, isr: [1, 2], partitionEpoch: 1 }),
    1,
  );

  expect(transition).toBe('follower-unchanged');
  expect(followCalls).toEqual(['start following 2 in epoch 4']);
});

test('a follower told of another leader in a newer epoch restarts its fetcher for that leader', async () => {
  const { partition, followCalls } = await replica();
  await partition.applyState(decision({ leader: 2, leaderEpoch: 4 }), 1);
  await partition.applyState(decision({ leader: 3, leaderEpoch: 5 }), 1);
  expect(followCalls).toEqual(['start following 2 in epoch 4', 'start following 3 in epoch 5']);
});

test("a follower's HW never goes back, never passes its LEO, and falls with a truncation", async () => {
  const { partition } = await replica();
  await partition.applyState(decision({ leader: 2, leaderEpoch: 0 }), 1);
  // Two batches, so a truncation can cut between them at offset 3.
  await partition.appendFromLeader(stampedAt(0, batchOf(3)));
  await partition.appendFromLeader(stampedAt(3, batchOf(3)));

  partition.updateFollowerHighWatermark(4);
  partition.updateFollowerHighWatermark(2);
  expect(partition.highWatermark).toBe(4);
  partition.updateFollowerHighWatermark(100);
  expect(partition.highWatermark).toBe(6);

  await partition.truncateTo(3);
  expect(partition.highWatermark).toBe(3);
  expect(partition.log.logEndOffset).toBe(3);
});

test('a leader refuses to truncate its log: its followers truncate to it', async () => {
  const { partition, log } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 0 }), 1);
  await partition.produce(batchOf(3), Acks.LEADER, 1000);
  await expect(partition.truncateTo(0)).rejects.toThrow(/leader does not truncate/);
  expect(log.logEndOffset).toBe(3);
});

test('a parked follower fetch of the old epoch ends when the leader is re-elected in a new epoch', async () => {
  const { partition } = await replica();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 0 }), 1);
  const parked = partition.fetch({
    fetchOffset: 0,
    maxBytes: 1 << 20,
    maxWaitMs: 120_000,
    replicaId: 2,
    currentLeaderEpoch: 0,
    replicaHighWatermark: 0,
  });
  const started = Date.now();
  await partition.applyState(decision({ leader: LOCAL_BROKER, leaderEpoch: 1, partitionEpoch: 1 }), 1);
  const outcome = await parked;
  outcome.release();
  // Ended by the new epoch, not by its 120 s (a bound generous for a loaded machine).
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(outcome.leaderEpoch).toBe(1);
});
