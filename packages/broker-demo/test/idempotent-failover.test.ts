import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { ClusterClient } from '../src/client/cluster-client.js';
import { readTopic } from '../src/client/consumer.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { Acks, brokerErrorName, RequestCode } from '../src/protocol/codes.js';
import { header, ProduceRequestHeader, ProduceResponseHeader } from '../src/protocol/headers.js';
import { encodeProducerBatch } from '../src/protocol/records-codec.js';
import {
  createTopicWithFullIsr,
  type ScenarioContext,
  waitForFullIsr,
  waitForMetadata,
  waitForPartition,
  withCluster,
} from '../src/scenarios/scenario-kit.js';

/*
 * An idempotent producer's retry after a leader failover, on real processes:
 * the batch was appended and replicated, its answer was lost, and the broker
 * that now leads has been restarted since it copied the batch (so it knows the
 * batch only from its log on disk). The retry must be answered with the
 * original offsets, not appended a second time.
 */

let baseDir: string;
const lines: string[] = [];
const ctx = (): ScenarioContext => ({ say: (line) => lines.push(line), baseDir });

beforeAll(() => {
  baseDir = mkdtempSync(path.join(os.tmpdir(), 'broker-demo-idempotent-'));
});

afterEach(async (context) => {
  await LocalCluster.stopAll();
  if (context.task.result?.state === 'fail') console.log(lines.join('\n'));
  lines.length = 0;
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

const TOPIC = 'idem';
const PRODUCER_ID = 123_456_789;

/** One idempotent produce request, built as the Producer builds it: the id and sequence in the header and the batch. */
async function produce(client: ClusterClient, sequence: number, value: string) {
  await client.refresh(TOPIC);
  const body = encodeProducerBatch([{ key: null, value: Buffer.from(value), timestamp: Date.now() }], {
    producerId: PRODUCER_ID,
    sequence,
  });
  const request = RemotingCommand.createRequest(
    RequestCode.PRODUCE,
    header(ProduceRequestHeader, {
      topic: TOPIC,
      partition: 0,
      acks: Acks.ALL,
      timeoutMs: 5000,
      producerId: PRODUCER_ID,
      sequence,
    }),
  ).setBody(body);
  const response = await client.rpc.invokeSync(client.leaderAddress(TOPIC, 0), request, 10_000);
  if (response.code !== ResponseCode.SUCCESS) {
    return { error: brokerErrorName(response.code) ?? String(response.code), remark: response.remark };
  }
  return response.decodeCustomHeader(ProduceResponseHeader);
}

test('a retried batch is answered with its original offsets by a new leader that was restarted after copying it', async () => {
  await withCluster(
    ctx(),
    { brokers: 2, partitions: 1, replicationFactor: 2, minInsync: 2 },
    async (cluster, client) => {
      const before = await createTopicWithFullIsr(client, TOPIC, 2);
      const first = before.leader;
      const second = first === 1 ? 2 : 1;

      // acks=all with min.insync=2: once answered, both replicas hold both batches.
      expect(await produce(client, 0, 'a')).toMatchObject({ baseOffset: 0, lastOffset: 0 });
      const original = await produce(client, 1, 'b');
      expect(original).toMatchObject({ baseOffset: 1, lastOffset: 1 });

      // The follower restarts: what it knows of the producer now comes from its log alone.
      // Restarted only once the controller has taken it out of the ISR, so
      // that the full ISR waited for next is its return, not the old state.
      await cluster.signalBroker(second, 'SIGKILL');
      await waitForMetadata(client, TOPIC, `broker ${second} out of the ISR`, (s) => !s.isr.includes(second));
      await cluster.startBroker(second);
      await waitForFullIsr(client, TOPIC, 2, 30_000);

      // The leader dies; the restarted follower takes over. The old leader
      // comes back as a follower so that acks=all has its two replicas again.
      await cluster.signalBroker(first, 'SIGKILL');
      await waitForPartition(
        client,
        TOPIC,
        `broker ${second} leading`,
        (v) =>
          v.leader === second && v.replicas.some((r) => r.brokerId === second && r.status?.role === 'leader'),
        30_000,
      );
      await cluster.startBroker(first);
      const after = await waitForFullIsr(client, TOPIC, 2, 30_000);
      expect(after.leader).toBe(second);

      // The producer never heard back for sequence 1 and sends it again.
      const retry = await produce(client, 1, 'b');
      expect(retry).toMatchObject({ baseOffset: 1, lastOffset: 1, duplicate: true });
      // The producer's next batch follows on, at the next offset.
      expect(await produce(client, 2, 'c')).toMatchObject({ baseOffset: 2, duplicate: false });

      // A request whose header names another producer than its batch is refused, and appends nothing.
      const mismatched = RemotingCommand.createRequest(
        RequestCode.PRODUCE,
        header(ProduceRequestHeader, {
          topic: TOPIC,
          partition: 0,
          acks: Acks.ALL,
          timeoutMs: 5000,
          producerId: PRODUCER_ID + 1,
          sequence: 3,
        }),
      ).setBody(
        encodeProducerBatch([{ key: null, value: Buffer.from('x'), timestamp: 1 }], {
          producerId: PRODUCER_ID,
          sequence: 3,
        }),
      );
      const refused = await client.rpc.invokeSync(client.leaderAddress(TOPIC, 0), mismatched, 10_000);
      expect(brokerErrorName(refused.code)).toBe('INVALID_REQUEST');
      expect(refused.remark).toMatch(/names producer .* its batch producer/);

      const records = await readTopic(client, TOPIC);
      expect(records.map((r) => [r.offset, r.value.toString()])).toEqual([
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ]);
    },
  );
}, 120_000);
