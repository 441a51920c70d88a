import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { decodeBatches, PartitionLog } from '../src/log/index.js';
import type { IsrProposal, PartitionState } from '../src/protocol/cluster-state.js';
import { Acks } from '../src/protocol/codes.js';
import { BrokerError } from '../src/protocol/errors.js';
import { type BatchProducer, encodeProducerBatch } from '../src/protocol/records-codec.js';
import { Partition } from '../src/replication/partition.js';

/*
 * The leader side of one partition, on a real log in a temporary directory,
 * with followers simulated by calling fetch() as their fetch requests would.
 */

let dir: string;
let log: PartitionLog;
let proposals: IsrProposal[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'partition-test-'));
  log = await PartitionLog.open({ dir, flush: { mode: 'interval', intervalMs: 1000 } });
  proposals = [];
});

afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function state(overrides: Partial<PartitionState> = {}): PartitionState {
  return {
    topic: 't',
    partition: 0,
    replicas: [1, 2, 3],
    leader: 1,
    leaderEpoch: 0,
    isr: [1, 2, 3],
    partitionEpoch: 0,
    ...overrides,
  };
}

async function leader(minInsync: number, s = state()): Promise<Partition> {
  const p = new Partition({
    topic: 't',
    partition: 0,
    brokerId: 1,
    log,
    replicaLagTimeMaxMs: 1000,
    proposeIsr: async (proposal) => {
      proposals.push(proposal);
      return null;
    },
    startFollowing: async () => undefined,
    stopFollowing: async () => undefined,
  });
  await p.applyState(s, minInsync);
  return p;
}

const record = (text: string) => ({ key: null, value: Buffer.from(text), timestamp: 0 });
/** A producer's batch of records with these values, as the produce request carries it. */
const batchOf = (...texts: string[]) => encodeProducerBatch(texts.map(record));
/** The same from an idempotent producer: its id and the batch's base sequence are in the batch header. */
const idempotentBatch = (producer: BatchProducer, ...texts: string[]) =>
  encodeProducerBatch(texts.map(record), producer);

function followerFetch(p: Partition, replicaId: number, fetchOffset: number) {
  return p.fetch({
    fetchOffset,
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    replicaId,
    currentLeaderEpoch: 0,
    replicaHighWatermark: -1,
  });
}

/** Waits until the leader's log holds `leo` records (an append running in the background landed). */
async function appended(p: Partition, leo: number): Promise<void> {
  await vi.waitFor(() => expect(p.log.logEndOffset).toBe(leo), { timeout: 10_000, interval: 5 });
}

/** Waits until an acks=all produce is parked, waiting for the HW. */
async function parkedProduce(p: Partition): Promise<void> {
  await vi.waitFor(() => expect(p.status().parked.produces).toBe(1), { timeout: 10_000, interval: 5 });
}

function consumerFetch(p: Partition, fetchOffset: number) {
  return p.fetch({
    fetchOffset,
    maxBytes: 1 << 20,
    maxWaitMs: 0,
    replicaId: -1,
    currentLeaderEpoch: -1,
    replicaHighWatermark: -1,
  });
}

test('acks=all is answered once every ISR follower has fetched past the batch', async () => {
  const p = await leader(2);
  let done = false;
  const produced = p.produce(batchOf('m1'), Acks.ALL, 5000).then((r) => {
    done = true;
    return r;
  });
  await appended(p, 1);
  await followerFetch(p, 2, 1);
  // One of two ISR followers has it: the HW stays, and the produce waits for it.
  expect(p.highWatermark).toBe(0);
  expect(p.status().parked.produces).toBe(1);
  expect(done).toBe(false);
  await followerFetch(p, 3, 1);
  await expect(produced).resolves.toMatchObject({ baseOffset: 0, lastOffset: 0, leaderEpoch: 0 });
  expect(p.highWatermark).toBe(1);
});

test('consumers read only up to the HW', async () => {
  const p = await leader(1);
  await p.produce(batchOf('m1'), Acks.LEADER, 1000);
  await followerFetch(p, 2, 1);
  await followerFetch(p, 3, 1);
  await p.produce(batchOf('m2'), Acks.LEADER, 1000);
  const read = await consumerFetch(p, 0);
  expect(read.highWatermark).toBe(1);
  expect(read.nextOffset).toBe(1);
  expect(read.logEndOffset).toBe(2);
});

test('acks=all is refused before the append when the ISR is below min.insync.replicas', async () => {
  const p = await leader(3, state({ isr: [1, 2] }));
  const err = await p.produce(batchOf('m1'), Acks.ALL, 1000).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  expect((err as BrokerError).code).toBe('NOT_ENOUGH_REPLICAS');
  expect(log.logEndOffset).toBe(0);
  await expect(p.produce(batchOf('m1'), Acks.LEADER, 1000)).resolves.toMatchObject({ baseOffset: 0 });
});

test('a waiting acks=all produce fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks below min.insync', async () => {
  const p = await leader(2);
  const produced = p.produce(batchOf('m1'), Acks.ALL, 5000).catch((e: unknown) => e);
  await parkedProduce(p);
  await p.applyState(state({ isr: [1], partitionEpoch: 1 }), 2);
  const err = await produced;
  expect((err as BrokerError).code).toBe('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
  expect(log.logEndOffset).toBe(1);
});

test('a waiting acks=all produce times out with REQUEST_TIMED_OUT', async () => {
  const p = await leader(2);
  const err = await p.produce(batchOf('m1'), Acks.ALL, 100).catch((e: unknown) => e);
  expect((err as BrokerError).code).toBe('REQUEST_TIMED_OUT');
});

test('a deposed leader answers NOT_LEADER with the new leader, and fails its waiters', async () => {
  const p = await leader(2);
  const produced = p.produce(batchOf('m1'), Acks.ALL, 5000).catch((e: unknown) => e);
  await parkedProduce(p);
  await p.applyState(state({ leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 1 }), 2);
  expect((await produced) as BrokerError).toMatchObject({ code: 'NOT_LEADER', leaderId: 2 });
  const err = await p.produce(batchOf('m2'), Acks.LEADER, 1000).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'NOT_LEADER', leaderId: 2 });
});

test('fetches from an older leader epoch are fenced', async () => {
  const p = await leader(1, state({ leaderEpoch: 3 }));
  const err = await followerFetch(p, 2, 0).catch((e: unknown) => e);
  expect((err as BrokerError).code).toBe('FENCED_LEADER_EPOCH');
});

test('a follower that caught up to the HW is proposed back into the ISR', async () => {
  const p = await leader(1, state({ isr: [1, 2] }));
  await p.produce(batchOf('m1'), Acks.LEADER, 1000);
  await followerFetch(p, 2, 1);
  expect(p.highWatermark).toBe(1);
  await followerFetch(p, 3, 1);
  expect(proposals.at(-1)).toMatchObject({ isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 0 });
});

test('a long-poll fetch returns as soon as the leader appends', async () => {
  const p = await leader(1);
  const parked = p.fetch({
    fetchOffset: 0,
    maxBytes: 1 << 20,
    maxWaitMs: 60_000,
    replicaId: 2,
    currentLeaderEpoch: 0,
    replicaHighWatermark: 0,
  });
  await vi.waitFor(() => expect(p.status().parked.fetches).toBe(1), { timeout: 10_000, interval: 5 });
  const t0 = Date.now();
  await p.produce(batchOf('m1'), Acks.LEADER, 1000);
  const result = await parked;
  expect(result.nextOffset).toBe(1);
  // The point: the append ends the wait, not its 60 s (generous for a loaded machine).
  expect(Date.now() - t0).toBeLessThan(30_000);
});

test('a retry of a batch the leader already has is answered with the original offsets, not appended again', async () => {
  const p = await leader(1);
  const producer = { producerId: 42, sequence: 0 };
  const first = await p.produce(idempotentBatch(producer, 'm1'), Acks.LEADER, 1000);
  const retry = await p.produce(idempotentBatch(producer, 'm1'), Acks.LEADER, 1000);
  expect(first).toMatchObject({ baseOffset: 0, duplicate: false });
  expect(retry).toMatchObject({ baseOffset: 0, duplicate: true });
  expect(log.logEndOffset).toBe(1);
  const next = await p.produce(idempotentBatch({ producerId: 42, sequence: 1 }, 'm2'), Acks.LEADER, 1000);
  expect(next).toMatchObject({ baseOffset: 1, duplicate: false });
});

test('a produce request is appended as one log batch, stamped with its offsets and the leader epoch', async () => {
  const p = await leader(1, state({ leaderEpoch: 2 }));
  await p.produce(batchOf('a', 'b'), Acks.LEADER, 1000);
  const outcome = await p.produce(batchOf('c', 'd', 'e'), Acks.LEADER, 1000);
  expect(outcome).toMatchObject({ baseOffset: 2, lastOffset: 4, leaderEpoch: 2 });
  const read = await log.read(0, 1 << 20);
  const batches = decodeBatches(read.bytes);
  read.release();
  expect(batches.map((b) => [b.baseOffset, b.lastOffset, b.leaderEpoch])).toEqual([
    [0, 1, 2],
    [2, 4, 2],
  ]);
  expect(batches[1]!.records.map((r) => r.value.toString())).toEqual(['c', 'd', 'e']);
});

test('a batch whose base sequence leaves a gap is refused with OUT_OF_ORDER_SEQUENCE and appends nothing', async () => {
  const p = await leader(1);
  await p.produce(idempotentBatch({ producerId: 7, sequence: 0 }, 'a', 'b'), Acks.LEADER, 1000);
  // Sequences 0 and 1 are in; 2 is the next one. 4 means the batch at 2 is missing.
  const err = await p
    .produce(idempotentBatch({ producerId: 7, sequence: 4 }, 'e'), Acks.LEADER, 1000)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  expect(err).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', appended: false, retriable: false });
  expect((err as BrokerError).details.expectedSequence).toBe('2');
  expect(log.logEndOffset).toBe(2);
  // An old sequence that is not a batch it knows is refused too.
  await expect(
    p.produce(idempotentBatch({ producerId: 7, sequence: 1 }, 'b'), Acks.LEADER, 1000),
  ).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE' });
  // The missing batch, then the one that was refused, go in order.
  await expect(
    p.produce(idempotentBatch({ producerId: 7, sequence: 2 }, 'c', 'd'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 2, lastOffset: 3 });
  await expect(
    p.produce(idempotentBatch({ producerId: 7, sequence: 4 }, 'e'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 4 });
  // A producer the leader has no state for must start at 0: anything else may follow a batch it never saw.
  await expect(
    p.produce(idempotentBatch({ producerId: 8, sequence: 100 }, 'x'), Acks.LEADER, 1000),
  ).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID', appended: false });
  await expect(
    p.produce(idempotentBatch({ producerId: 8, sequence: 0 }, 'x'), Acks.LEADER, 1000),
  ).resolves.toMatchObject({ baseOffset: 5 });
  expect(log.logEndOffset).toBe(6);
});

test('a repeated multi-record batch is deduplicated to its original offsets even after later batches', async () => {
  const p = await leader(1);
  const first = await p.produce(
    idempotentBatch({ producerId: 9, sequence: 0 }, 'a', 'b', 'c'),
    Acks.LEADER,
    1000,
  );
  await p.produce(idempotentBatch({ producerId: 9, sequence: 3 }, 'd', 'e'), Acks.LEADER, 1000);
  const again = await p.produce(
    idempotentBatch({ producerId: 9, sequence: 0 }, 'a', 'b', 'c'),
    Acks.LEADER,
    1000,
  );
  expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: false });
  expect(again).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: true });
  expect(log.logEndOffset).toBe(5);
});

test('a fetch carries as many whole batches as fit in maxBytes, and at least one larger batch', async () => {
  const p = await leader(1, state({ isr: [1] }));
  const value = 'v'.repeat(100);
  for (let i = 0; i < 10; i++) await p.produce(batchOf(value, value, value), Acks.LEADER, 1000);
  const batchBytes = (await log.read(0, 1)).bytes.length;
  const fetch = (fetchOffset: number, maxBytes: number) =>
    p.fetch({
      fetchOffset,
      maxBytes,
      maxWaitMs: 0,
      replicaId: -1,
      currentLeaderEpoch: -1,
      replicaHighWatermark: -1,
    });
  const three = await fetch(0, batchBytes * 3 + batchBytes / 2);
  expect(decodeBatches(three.bytes)).toHaveLength(3);
  expect(three.nextOffset).toBe(9);
  three.release();
  const one = await fetch(9, 10);
  expect(decodeBatches(one.bytes)).toHaveLength(1);
  expect(one.bytes.length).toBe(batchBytes);
  expect(one.nextOffset).toBe(12);
  one.release();
  const all = await fetch(0, 1 << 20);
  expect(decodeBatches(all.bytes)).toHaveLength(10);
  all.release();
});
