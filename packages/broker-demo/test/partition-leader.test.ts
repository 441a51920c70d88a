import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { PartitionLog } from '../src/log/index.js';
import type { PartitionState } from '../src/protocol/cluster-state.js';
import { Acks } from '../src/protocol/codes.js';
import { BrokerError } from '../src/protocol/errors.js';
import { type IsrProposal, Partition } from '../src/replication/partition.js';

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
    onFollow: async () => undefined,
  });
  await p.applyState(s, minInsync);
  return p;
}

const record = (text: string) => ({ key: null, value: Buffer.from(text), timestamp: 0 });

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
  const produced = p.produce([record('m1')], Acks.ALL, 5000).then((r) => {
    done = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 20));
  await followerFetch(p, 2, 1);
  await new Promise((r) => setTimeout(r, 20));
  expect(done).toBe(false);
  await followerFetch(p, 3, 1);
  await expect(produced).resolves.toMatchObject({ baseOffset: 0, lastOffset: 0, leaderEpoch: 0 });
  expect(p.highWatermark).toBe(1);
});

test('consumers read only up to the HW', async () => {
  const p = await leader(1);
  await p.produce([record('m1')], Acks.LEADER, 1000);
  await followerFetch(p, 2, 1);
  await followerFetch(p, 3, 1);
  await p.produce([record('m2')], Acks.LEADER, 1000);
  const read = await consumerFetch(p, 0);
  expect(read.highWatermark).toBe(1);
  expect(read.nextOffset).toBe(1);
  expect(read.logEndOffset).toBe(2);
});

test('acks=all is refused before the append when the ISR is below min.insync.replicas', async () => {
  const p = await leader(3, state({ isr: [1, 2] }));
  const err = await p.produce([record('m1')], Acks.ALL, 1000).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  expect((err as BrokerError).code).toBe('NOT_ENOUGH_REPLICAS');
  expect(log.logEndOffset).toBe(0);
  await expect(p.produce([record('m1')], Acks.LEADER, 1000)).resolves.toMatchObject({ baseOffset: 0 });
});

test('a waiting acks=all produce fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks below min.insync', async () => {
  const p = await leader(2);
  const produced = p.produce([record('m1')], Acks.ALL, 5000).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 20));
  await p.applyState(state({ isr: [1], partitionEpoch: 1 }), 2);
  const err = await produced;
  expect((err as BrokerError).code).toBe('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
  expect(log.logEndOffset).toBe(1);
});

test('a waiting acks=all produce times out with REQUEST_TIMED_OUT', async () => {
  const p = await leader(2);
  const err = await p.produce([record('m1')], Acks.ALL, 100).catch((e: unknown) => e);
  expect((err as BrokerError).code).toBe('REQUEST_TIMED_OUT');
});

test('a deposed leader answers NOT_LEADER with the new leader, and fails its waiters', async () => {
  const p = await leader(2);
  const produced = p.produce([record('m1')], Acks.ALL, 5000).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 20));
  await p.applyState(state({ leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 1 }), 2);
  expect((await produced) as BrokerError).toMatchObject({ code: 'NOT_LEADER', leaderId: 2 });
  const err = await p.produce([record('m2')], Acks.LEADER, 1000).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'NOT_LEADER', leaderId: 2 });
});

test('fetches from an older leader epoch are fenced', async () => {
  const p = await leader(1, state({ leaderEpoch: 3 }));
  const err = await followerFetch(p, 2, 0).catch((e: unknown) => e);
  expect((err as BrokerError).code).toBe('FENCED_LEADER_EPOCH');
});

test('a follower that caught up to the HW is proposed back into the ISR', async () => {
  const p = await leader(1, state({ isr: [1, 2] }));
  await p.produce([record('m1')], Acks.LEADER, 1000);
  await followerFetch(p, 2, 1);
  expect(p.highWatermark).toBe(1);
  await followerFetch(p, 3, 1);
  expect(proposals.at(-1)).toMatchObject({ isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 0 });
});

test('a long-poll fetch returns as soon as the leader appends', async () => {
  const p = await leader(1);
  const t0 = Date.now();
  const parked = p.fetch({
    fetchOffset: 0,
    maxBytes: 1 << 20,
    maxWaitMs: 5000,
    replicaId: 2,
    currentLeaderEpoch: 0,
    replicaHighWatermark: 0,
  });
  await new Promise((r) => setTimeout(r, 50));
  await p.produce([record('m1')], Acks.LEADER, 1000);
  const result = await parked;
  expect(result.nextOffset).toBe(1);
  expect(Date.now() - t0).toBeLessThan(2000);
});

test('a retry of a batch the leader already has is answered with the original offsets, not appended again', async () => {
  const p = await leader(1);
  const producer = { producerId: 42, sequence: 0 };
  const first = await p.produce([record('m1')], Acks.LEADER, 1000, producer);
  const retry = await p.produce([record('m1')], Acks.LEADER, 1000, producer);
  expect(first).toMatchObject({ baseOffset: 0, duplicate: false });
  expect(retry).toMatchObject({ baseOffset: 0, duplicate: true });
  expect(log.logEndOffset).toBe(1);
  const next = await p.produce([record('m2')], Acks.LEADER, 1000, { producerId: 42, sequence: 1 });
  expect(next).toMatchObject({ baseOffset: 1, duplicate: false });
});
