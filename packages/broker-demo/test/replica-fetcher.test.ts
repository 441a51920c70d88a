import { RemotingClient } from '@remoting-ts/remoting';
import { expect, onTestFinished, test, vi } from 'vitest';
import { type BrokerHandlerContext, registerBrokerHandlers } from '../src/broker/handlers.js';
import type { PartitionLog } from '../src/log/index.js';
import { createRpcClient, createRpcServer } from '../src/net/rpc.js';
import type { PartitionState } from '../src/protocol/cluster-state.js';
import { Acks, RequestCode } from '../src/protocol/codes.js';
import { encodeProducerBatch } from '../src/protocol/records-codec.js';
import { Partition } from '../src/replication/partition.js';
import { ReplicaFetcher } from '../src/replication/replica-fetcher.js';
import { makeRecords, openLog, readAll, tempDir, valueText } from './log-fixtures.js';

/*
 * A follower's fetch loop against a real leader: broker 1's replica on its
 * own log, served over loopback by the broker's request handlers; broker 2's
 * replica on another log, fed by a ReplicaFetcher.
 */

const LEADER = 1;
const FOLLOWER = 2;
/** The fetcher's pause after a failed fetch (RETRY_BACKOFF_MS in replica-fetcher.ts). */
const RETRY_BACKOFF_MS = 200;

function decision(fields: { leader: number; leaderEpoch: number; isr?: number[] }): PartitionState {
  return {
    topic: 't',
    partition: 0,
    replicas: [LEADER, FOLLOWER],
    leader: fields.leader,
    leaderEpoch: fields.leaderEpoch,
    isr: fields.isr ?? [LEADER, FOLLOWER],
    partitionEpoch: 0,
  };
}

async function replicaOn(brokerId: number): Promise<{ partition: Partition; log: PartitionLog }> {
  const log = await openLog({ dir: await tempDir(), flush: { mode: 'interval', intervalMs: 1000 } });
  const partition = new Partition({
    topic: 't',
    partition: 0,
    brokerId,
    log,
    replicaLagTimeMaxMs: 10_000,
    proposeIsr: async () => null,
    startFollowing: async () => undefined,
    stopFollowing: async () => undefined,
  });
  return { partition, log };
}

/**
 * Serves `leader` with the broker's handlers on 127.0.0.1; counts every
 * request that looked the partition up, and records each fetch's offset as
 * the leader received it.
 */
async function serve(
  leader: Partition,
): Promise<{ address: string; requestsServed: () => number; fetchOffsets: number[] }> {
  const server = createRpcServer({ host: '127.0.0.1', port: 0 });
  let served = 0;
  const fetchOffsets: number[] = [];
  const fetch = leader.fetch.bind(leader);
  leader.fetch = (params) => {
    fetchOffsets.push(params.fetchOffset);
    return fetch(params);
  };
  const host: BrokerHandlerContext = {
    brokerId: LEADER,
    link: {
      readState: () => Promise.reject(new Error('the fetcher test has no controller')),
      sessionValid: () => true,
      createTopic: () => Promise.reject(new Error('the fetcher test has no controller')),
    },
    clusterSnapshot: null,
    fetchersPaused: false,
    partition: (topic, partition) => {
      served++;
      return topic === leader.topic && partition === leader.partition ? leader : undefined;
    },
    partitionState: () => undefined,
    allPartitions: () => [leader],
    applySnapshot: async () => undefined,
    metadataBody: () => null,
    say: () => undefined,
  };
  registerBrokerHandlers(server, host);
  const bound = await server.start();
  onTestFinished(async () => {
    leader.abandon();
    await server.shutdown();
  });
  return { address: `${bound.host}:${bound.port}`, requestsServed: () => served, fetchOffsets };
}

function startFetcher(fields: {
  follower: Partition;
  leaderAddress: string;
  leaderEpoch: number;
  said?: string[];
  client?: RemotingClient;
  maxWaitMs?: number;
}): ReplicaFetcher {
  const client = fields.client ?? createRpcClient({ connectTimeoutMs: 1000 });
  const fetcher = new ReplicaFetcher({
    client,
    brokerId: FOLLOWER,
    partition: fields.follower,
    leaderId: LEADER,
    leaderEpoch: fields.leaderEpoch,
    leaderAddress: () => fields.leaderAddress,
    maxWaitMs: fields.maxWaitMs ?? 100,
    maxBytes: 1 << 20,
    paused: () => false,
    say: (line) => fields.said?.push(line),
  });
  fetcher.start();
  onTestFinished(async () => {
    await fetcher.stop();
    await client.shutdown();
  });
  return fetcher;
}

const values = async (log: PartitionLog) => (await readAll(log)).map(valueText);

test('a follower whose log diverged in an epoch the leader never had truncates where the leader epoch it shares ends, then fetches the rest', async () => {
  // Both wrote a0..a4 in epoch 0. The follower then led epoch 1 alone and
  // wrote x0..x2 (never replicated); the leader of epoch 2 wrote b0..b2.
  const leader = await replicaOn(LEADER);
  await leader.log.append(makeRecords(5, 'a', 16), 0);
  await leader.partition.applyState(decision({ leader: LEADER, leaderEpoch: 2 }), 1);
  await leader.partition.produce(encodeProducerBatch(makeRecords(3, 'b', 16)), Acks.LEADER, 1000);
  const follower = await replicaOn(FOLLOWER);
  await follower.log.append(makeRecords(5, 'a', 16), 0);
  await follower.log.append(makeRecords(3, 'x', 16), 1);
  await follower.partition.applyState(decision({ leader: LEADER, leaderEpoch: 2 }), 1);
  const { address } = await serve(leader.partition);
  const said: string[] = [];

  startFetcher({ follower: follower.partition, leaderAddress: address, leaderEpoch: 2, said });

  // Same LEO (8) before and after: what changed is which records the log holds.
  await vi.waitFor(() => expect(follower.log.latestEpoch()).toBe(2), { timeout: 5000, interval: 20 });
  await vi.waitFor(() => expect(follower.log.logEndOffset).toBe(8), { timeout: 5000, interval: 20 });
  expect(await values(follower.log)).toEqual(await values(leader.log));
  expect((await values(follower.log)).some((v) => v.startsWith('x-'))).toBe(false);
  expect(said.some((line) => /truncating 8 -> 5/.test(line))).toBe(true);
  expect(follower.log.endOffsetForEpoch(1)).toEqual({ epoch: 0, endOffset: 5 });
});

test("a follower appends the leader's batches as they are and takes the HW from its answers", async () => {
  const leader = await replicaOn(LEADER);
  await leader.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  const follower = await replicaOn(FOLLOWER);
  await follower.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  const { address } = await serve(leader.partition);
  startFetcher({ follower: follower.partition, leaderAddress: address, leaderEpoch: 0 });

  await leader.partition.produce(encodeProducerBatch(makeRecords(4, 'p', 16)), Acks.ALL, 5000);
  await leader.partition.produce(encodeProducerBatch(makeRecords(2, 'q', 16)), Acks.ALL, 5000);

  // acks=all answered: the follower held both batches, so the leader's HW is 6.
  expect(leader.partition.highWatermark).toBe(6);
  await vi.waitFor(() => expect(follower.partition.highWatermark).toBe(6), { timeout: 5000, interval: 20 });
  expect(await values(follower.log)).toEqual(await values(leader.log));
  // Offsets and epochs as the leader stamped them, batch for batch.
  expect(follower.log.epochEntries()).toEqual(leader.log.epochEntries());
});

test('a fetch the leader refuses (NOT_LEADER) is retried after a backoff, not in a tight loop, until the leader serves it', async () => {
  const leader = await replicaOn(LEADER);
  await leader.log.append(makeRecords(3, 'a', 16), 0);
  // Broker 1 still follows someone else: it refuses to serve fetches.
  await leader.partition.applyState(decision({ leader: 3, leaderEpoch: 0 }), 1);
  const follower = await replicaOn(FOLLOWER);
  await follower.partition.applyState(decision({ leader: LEADER, leaderEpoch: 1 }), 1);
  const { address, requestsServed } = await serve(leader.partition);

  const started = performance.now();
  startFetcher({ follower: follower.partition, leaderAddress: address, leaderEpoch: 1 });
  // It keeps trying...
  await vi.waitFor(() => expect(requestsServed()).toBeGreaterThanOrEqual(3), {
    timeout: 20_000,
    interval: 10,
  });
  const refused = requestsServed();
  const elapsedMs = performance.now() - started;

  // ...at most once per backoff (plus the first try and timer slack); a slow machine only makes it fewer.
  expect(refused).toBeLessThanOrEqual(elapsedMs / RETRY_BACKOFF_MS + 2);
  expect(follower.log.logEndOffset).toBe(0);

  await leader.partition.applyState(decision({ leader: LEADER, leaderEpoch: 1 }), 1);
  await vi.waitFor(() => expect(follower.log.logEndOffset).toBe(3), { timeout: 5000, interval: 20 });
});

test('a leader that cannot be reached yet is fetched from once it listens, the connection failures not narrated', async () => {
  const follower = await replicaOn(FOLLOWER);
  await follower.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  const leader = await replicaOn(LEADER);
  await leader.log.append(makeRecords(2, 'a', 16), 0);
  await leader.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  // An address where nothing listens yet (a server started and stopped), then the real one.
  const gone = createRpcServer({ host: '127.0.0.1', port: 0 });
  const bound = await gone.start();
  await gone.shutdown();
  let address = `${bound.host}:${bound.port}`;
  const said: string[] = [];
  const client = new RemotingClient({ connectTimeoutMs: 500 });
  const fetcher = new ReplicaFetcher({
    client,
    brokerId: FOLLOWER,
    partition: follower.partition,
    leaderId: LEADER,
    leaderEpoch: 0,
    leaderAddress: () => address,
    maxWaitMs: 100,
    maxBytes: 1 << 20,
    paused: () => false,
    say: (line) => said.push(line),
  });
  fetcher.start();
  onTestFinished(async () => {
    await fetcher.stop();
    await client.shutdown();
  });
  // It tried, and failed to connect, more than once.
  await vi.waitFor(
    () => expect(client.stats().callsByCode[RequestCode.FETCH]?.errors).toBeGreaterThanOrEqual(2),
    {
      timeout: 20_000,
      interval: 10,
    },
  );
  expect(follower.log.logEndOffset).toBe(0);

  address = (await serve(leader.partition)).address;

  await vi.waitFor(() => expect(follower.log.logEndOffset).toBe(2), { timeout: 5000, interval: 20 });
  // Connection failures are expected while a leader restarts: not narrated.
  expect(said).toEqual([]);
});

/** A leader with 6 records in epoch 0 and a follower that copied them and has a long-poll parked at the leader. */
async function followerParkedAtLeader() {
  const leader = await replicaOn(LEADER);
  await leader.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  await leader.partition.produce(encodeProducerBatch(makeRecords(3, 'a', 16)), Acks.LEADER, 1000);
  await leader.partition.produce(encodeProducerBatch(makeRecords(3, 'b', 16)), Acks.LEADER, 1000);
  const follower = await replicaOn(FOLLOWER);
  await follower.partition.applyState(decision({ leader: LEADER, leaderEpoch: 0 }), 1);
  const served = await serve(leader.partition);
  const client = new RemotingClient({ connectTimeoutMs: 1000 });
  onTestFinished(() => client.shutdown());
  const said: string[] = [];
  // The leader caps a long-poll at 10 s: a test that waited one out would notice.
  const fetcher = startFetcher({
    follower: follower.partition,
    leaderAddress: served.address,
    leaderEpoch: 0,
    client,
    maxWaitMs: 10_000,
    said,
  });
  await vi.waitFor(() => expect(follower.log.logEndOffset).toBe(6), { timeout: 10_000, interval: 10 });
  // Caught up: its next fetch (from 6) parks at the leader, with nothing to wait for.
  await vi.waitFor(() => expect(served.fetchOffsets.at(-1)).toBe(6), { timeout: 10_000, interval: 10 });
  expect(client.stats().pendingResponses).toBe(1);
  return { leader, follower, fetcher, client, said, fetchOffsets: served.fetchOffsets };
}

test("stop() cancels the parked long-poll: nothing is left in the client's response table", async () => {
  const { fetcher, client } = await followerParkedAtLeader();

  await fetcher.stop();

  // Before, the fetcher stopped waiting but its call stayed in the table until the long-poll ended.
  expect(client.stats().pendingResponses).toBe(0);
});

test('a truncation asked for while a long-poll is parked cancels it, cuts the log between two fetches, and the next fetch carries the new LEO', async () => {
  const { follower, fetcher, client, said, fetchOffsets } = await followerParkedAtLeader();
  const fetchesBefore = fetchOffsets.length;

  await fetcher.truncateTo(3, 'a corrupt batch at offset 3');

  // Cut at once, the parked call cancelled rather than abandoned or waited out.
  expect(follower.log.logEndOffset).toBe(3);
  expect(said).toContain('[t-0] truncating 6 -> 3 (a corrupt batch at offset 3)');
  // It fetches the cut records again: every fetch after the cut says 3, then 6, never a stale 6 first.
  await vi.waitFor(() => expect(follower.log.logEndOffset).toBe(6), { timeout: 10_000, interval: 10 });
  // The LEO reaches 6 when the re-fetched records are appended; the fetch from 6 is sent just after (on a loaded machine, later).
  await vi.waitFor(() => expect(fetchOffsets.slice(fetchesBefore)).toContain(6), {
    timeout: 10_000,
    interval: 10,
  });
  const after = fetchOffsets.slice(fetchesBefore);
  expect(after[0]).toBe(3);
  expect(after.indexOf(6)).toBeGreaterThan(after.lastIndexOf(3));
  // The re-fetched records are the leader's, in order.
  expect((await values(follower.log)).slice(3)).toEqual(['b-0', 'b-1', 'b-2']);
  await fetcher.stop();
  expect(client.stats().pendingResponses).toBe(0);
});
