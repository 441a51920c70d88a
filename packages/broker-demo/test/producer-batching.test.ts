import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RemotingCommand } from '@remoting-ts/remoting';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTopic } from '../src/client/admin.js';
import { ClusterClient } from '../src/client/cluster-client.js';
import { consumePartition, readTopic } from '../src/client/consumer.js';
import { Producer, type RecordMetadata } from '../src/client/producer/producer.js';
import { runProduceWorkload } from '../src/client/workload.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { Acks, BrokerResponseCode, RequestCode } from '../src/protocol/codes.js';
import { header, ProduceRequestHeader } from '../src/protocol/headers.js';
import { encodeProducerBatch } from '../src/protocol/records-codec.js';
import {
  checkReadBack,
  createTopicWithFullIsr,
  waitForFullIsr,
  waitForPartition,
} from '../src/scenarios/scenario-kit.js';
import { waitFor } from '../src/util/time.js';

/*
 * The batching producer and the streaming consumer against a real cluster
 * (3 broker processes, RF=3): batches form by linger.ms and batch.size, each
 * produce request lands as one log batch, and a consumer streams a partition
 * of 200k records, through the client and through the CLI.
 */

let dir: string;
let cluster: LocalCluster;
let client: ClusterClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'producer-batching-'));
  cluster = await LocalCluster.start({
    brokers: 3,
    partitions: 1,
    replicationFactor: 3,
    minInsync: 2,
    dir,
    replicaLagTimeMaxMs: 5000,
    sessionTimeoutMs: 6000,
  });
  client = new ClusterClient(cluster.controllerAddress);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const value = (text: string) => Buffer.from(text.padEnd(100, '.'));

/** The log batches of a partition as a consumer sees them: one ConsumedBatch per log batch. */
async function logBatches(topic: string): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const b of consumePartition(client, topic, 0)) {
    batches.push(b.records.map((r) => r.value.toString().replace(/\.+$/, '')));
  }
  return batches;
}

test('records sent together share one batch, and a lone record waits linger.ms for company', async () => {
  const topic = 'linger';
  await createTopic(client, { topic });
  const producer = new Producer(client, { acks: Acks.ALL, lingerMs: 300 });
  const t0 = performance.now();
  const sends = ['a', 'b', 'c', 'd'].map((v) => producer.send({ topic, partition: 0, value: value(v) }));
  const results: RecordMetadata[] = await Promise.all(sends);
  const elapsed = performance.now() - t0;
  expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
  // Not full, so the batch went when linger.ms ran out, not at once.
  expect(elapsed).toBeGreaterThanOrEqual(250);
  expect(await logBatches(topic)).toEqual([['a', 'b', 'c', 'd']]);
  await producer.close();
});

test('batch.size caps every batch; flush() sends what lingers and waits for it', async () => {
  const topic = 'batch-size';
  await createTopic(client, { topic });
  // 100-byte values take 120 bytes in a batch; its 44-byte header + 5 * 120 = 644 fits five, not six.
  const producer = new Producer(client, { acks: Acks.ALL, batchSizeBytes: 650, lingerMs: 60_000 });
  const sends = Array.from({ length: 23 }, (_, i) =>
    producer.send({ topic, partition: 0, value: value(`r${i}`) }),
  );
  const t0 = performance.now();
  await producer.flush();
  expect(performance.now() - t0).toBeLessThan(30_000);
  const results = await Promise.all(sends);
  expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 23 }, (_, i) => i));
  const batches = await logBatches(topic);
  expect(batches.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
  expect(batches.flat()).toEqual(Array.from({ length: 23 }, (_, i) => `r${i}`));
  await producer.close();
  await expect(producer.send({ topic, partition: 0, value: value('late') })).rejects.toMatchObject({
    name: 'ProduceFailedError',
    code: 'PRODUCER_CLOSED',
    maybeAppended: false,
  });
});

test('with many requests in flight, every acknowledged record is in the log once and in send order', async () => {
  const topic = 'in-order';
  await createTopic(client, { topic });
  const producer = new Producer(client, {
    acks: Acks.ALL,
    batchSizeBytes: 2048,
    lingerMs: 1,
    maxInFlight: 5,
  });
  const n = 5000;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => producer.send({ topic, partition: 0, value: value(String(i)) })),
  );
  // Acknowledged in send order; a retry (a follower slow enough to leave the ISR on a loaded machine) keeps its place.
  expect(results.map((r) => r.offset)).toEqual(Array.from({ length: n }, (_, i) => i));
  const records = await readTopic(client, topic);
  expect(records.map((r) => Number(r.value.toString().replace(/\.+$/, '')))).toEqual(
    Array.from({ length: n }, (_, i) => i),
  );
  await producer.close();
});

test('a partition of 200k records streams through the consumer, and `consume --max N` stops after N', async () => {
  const topic = 'big';
  await createTopic(client, { topic });
  const producer = new Producer(client, { acks: Acks.ALL, batchSizeBytes: 64 * 1024 });
  const n = 200_000;
  const value100 = Buffer.alloc(100, 0x2e);
  let failed = 0;
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 0) await producer.waitForBufferSpace();
    producer.send({ topic, partition: 0, value: value100 }).catch(() => failed++);
  }
  await producer.close();
  expect(failed).toBe(0);
  let seen = 0;
  let nextOffset = 0;
  let batches = 0;
  for await (const batch of consumePartition(client, topic, 0)) {
    batches++;
    for (const r of batch.records) {
      expect(r.offset).toBe(nextOffset);
      nextOffset++;
      seen++;
    }
  }
  expect(seen).toBe(n);
  expect(batches).toBeGreaterThan(1);

  const consume = (...extra: string[]) =>
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(PACKAGE_DIR, 'src/cli/main.ts'),
        'consume',
        '--bootstrap',
        cluster.controllerAddress,
        '--topic',
        topic,
        '--from-beginning',
        '--json',
        ...extra,
      ],
      { cwd: PACKAGE_DIR, timeout: 90_000, maxBuffer: 256 * 1024 * 1024 },
    );
  const all = await consume();
  expect(all.stderr).toContain(`consumed ${n} committed record(s)`);
  expect(all.stdout.trimEnd().split('\n')).toHaveLength(n);
  const some = await consume('--max', '1500');
  const lines = some.stdout.trim().split('\n');
  expect(lines).toHaveLength(1500);
  expect(JSON.parse(lines[1499]!)).toMatchObject({ partition: 0, offset: 1499 });
  expect(some.stderr).toContain('consumed 1500 committed record(s)');
}, 180_000);

test('one producer feeds two topics at once: metadata of one does not push out the other', async () => {
  for (const topic of ['two-a', 'two-b']) await createTopic(client, { topic });
  const producer = new Producer(client, { acks: Acks.ALL, lingerMs: 2 });
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 200; i++) {
    for (const topic of ['two-a', 'two-b'])
      sends.push(producer.send({ topic, partition: 0, value: value(`${topic}:${i}`) }));
  }
  const results = await Promise.all(sends);
  await producer.close();
  for (const topic of ['two-a', 'two-b']) {
    expect(results.filter((r) => r.topic === topic).map((r) => r.offset)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
  }
  expect(client.partitions('two-a')).toHaveLength(1);
  expect(client.partitions('two-b')).toHaveLength(1);
});

test('a produce body that is not one valid batch is refused with INVALID_REQUEST and appends nothing', async () => {
  const topic = 'bad-body';
  await createTopic(client, { topic });
  const leader = client.leaderAddress(topic, 0);
  const good = encodeProducerBatch([{ key: null, value: value('x'), timestamp: 1 }]);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1]! ^= 0xff;
  for (const body of [flipped, good.subarray(0, 40), Buffer.concat([good, good]), Buffer.alloc(0)]) {
    const request = RemotingCommand.createRequest(
      RequestCode.PRODUCE,
      header(ProduceRequestHeader, { topic, partition: 0, acks: Acks.ALL, timeoutMs: 1000 }),
    ).setBody(body);
    const response = await client.rpc.invokeSync(leader, request, 5000);
    expect(response.code).toBe(BrokerResponseCode.INVALID_REQUEST);
    expect(response.remark).toMatch(/CRC|cut short|one batch per request|without a record batch/);
  }
  const producer = new Producer(client, { acks: Acks.ALL, lingerMs: 0 });
  await expect(producer.send({ topic, partition: 0, value: value('ok') })).resolves.toMatchObject({
    offset: 0,
  });
  await producer.close();
});

test('a leader SIGKILLed under 5 requests in flight: retried batches keep their sequence, nothing acknowledged is lost, doubled or reordered', async () => {
  const topic = 'failover';
  const start = await createTopicWithFullIsr(client, topic, 3);
  const leader = start.leader;
  let acked = 0;
  const stop = new AbortController();
  const producing = runProduceWorkload(client, {
    topic,
    acks: Acks.ALL,
    count: Number.MAX_SAFE_INTEGER,
    keyPrefix: 'f',
    inFlight: 2000,
    batchSizeBytes: 4096,
    maxInFlightRequests: 5,
    retries: 60,
    requestTimeoutMs: 3000,
    signal: stop.signal,
    onAck: () => acked++,
  });
  try {
    // Each step waits for what it needs, however slow the machine: records flowing, then a
    // new leader taking them, then the old one back in the ISR with more records behind it.
    await waitFor(
      'records acknowledged by the first leader',
      () => (acked >= 500 ? true : undefined),
      60_000,
    );
    await cluster.signalBroker(leader, 'SIGKILL');
    const killedAt = acked;
    await waitForPartition(
      client,
      topic,
      'a new leader',
      (v) => v.leader >= 0 && v.leader !== leader,
      60_000,
    );
    await waitFor(
      'records acknowledged by the new leader',
      () => (acked >= killedAt + 500 ? true : undefined),
      60_000,
    );
    await cluster.startBroker(leader);
    await waitForFullIsr(client, topic, 3, 60_000);
    const rejoinedAt = acked;
    await waitFor(
      'records acknowledged after the rejoin',
      () => (acked >= rejoinedAt + 100 ? true : undefined),
      60_000,
    );
  } finally {
    stop.abort();
  }
  const result = await producing;
  // Batches in flight when the leader died were sent again: the retries this test is about.
  expect(result.acknowledged.filter((a) => a.attempts > 1).length).toBeGreaterThan(0);
  const check = await checkReadBack(client, topic, 'f', result.acknowledged);
  expect(check).toMatchObject({ lost: 0, duplicates: 0, outOfOrder: 0 });
  // Records that failed for good were never reported as refused when they may have been appended.
  for (const f of result.failed) if (f.code === 'NOT_ENOUGH_REPLICAS') expect(f.maybeAppended).toBe(false);
}, 300_000);
