/**
 * One row of the broker suite, measured against a running LocalCluster:
 * producers (each its own connections and batching Producer) send 100 B
 * records as fast as their buffer allows, while one consumer per partition
 * follows the topic live, so every record's produce latency (send() to its
 * acknowledgement) and end-to-end latency (send() to a consumer seeing it,
 * which is only once it is below the HW) are measured in one process with
 * one clock.
 */
import {
  type Acks,
  ClusterClient,
  consumePartition,
  createTopic,
  forEachValue,
  type LocalCluster,
  Producer,
} from '@remoting-ts/broker-demo/bench';
import { percentile } from '../stats.js';
import type { BrokerRunSample } from './broker-types.js';

export interface BrokerLoadSettings {
  warmupMs: number;
  durationMs: number;
  valueBytes: number;
  batchSizeBytes: number;
  lingerMs: number;
  maxInFlight: number;
  /** Each producer's buffer.memory: what may wait unanswered, and so the queueing part of produce latency. */
  bufferMemoryBytes: number;
}

/** Records sent in one synchronous burst before the loop yields to I/O. */
const SEND_CHUNK = 256;
/** How long the consumers may take to see the window's last records after the producers stop. */
const CONSUMER_DRAIN_MS = 5000;
const CONSUMER_MAX_WAIT_MS = 100;

interface Window {
  fromMs: number;
  toMs: number;
}

class LatencyLog {
  readonly values: number[] = [];
  add(ms: number): void {
    this.values.push(ms);
  }
  percentile(p: number): number {
    return this.values.length === 0 ? Number.NaN : percentile(this.values, p);
  }
}

/**
 * Creates `topic` (the broker creates topics only when asked) and waits
 * until every partition has `replicationFactor` replicas in its ISR.
 */
export async function waitForTopic(
  client: ClusterClient,
  topic: string,
  replicationFactor: number,
): Promise<void> {
  await createTopic(client, { topic, replicationFactor }, { ifNotExists: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    await client.refresh(topic);
    const partitions = client.partitions(topic);
    if (
      partitions.length > 0 &&
      partitions.every((p) => p.leader >= 0 && p.isr.length >= replicationFactor)
    ) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} did not get a full ISR within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function produceLoop(
  producer: Producer,
  topic: string,
  settings: BrokerLoadSettings,
  window: Window,
  stats: { acked: number; errors: number; firstError: string; produce: LatencyLog },
): Promise<void> {
  const { valueBytes } = settings;
  const onFailure = (err: unknown) => {
    if (stats.errors++ === 0) stats.firstError = String(err);
  };
  while (performance.now() < window.toMs) {
    await producer.waitForBufferSpace();
    for (let i = 0; i < SEND_CHUNK; i++) {
      const sentAt = performance.now();
      // The first 8 bytes carry the send time, read back by the consumer for end-to-end latency.
      const value = Buffer.allocUnsafe(valueBytes);
      value.fill(0x2e, 8);
      value.writeDoubleBE(sentAt, 0);
      producer.send({ topic, key: null, value }).then((metadata) => {
        const now = performance.now();
        if (now >= window.fromMs && now <= window.toMs) stats.acked++;
        if (sentAt >= window.fromMs && sentAt <= window.toMs) stats.produce.add(now - sentAt);
        void metadata;
      }, onFailure);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await producer.flush();
}

/** Runs one measured repetition of a row on `topic` (created here with the cluster's defaults). */
export async function runBrokerRow(
  cluster: LocalCluster,
  spec: { topic: string; acks: Acks; producers: number; replicationFactor: number },
  settings: BrokerLoadSettings,
): Promise<BrokerRunSample> {
  const admin = new ClusterClient(cluster.controllerAddress);
  const clients: ClusterClient[] = [];
  const stop = new AbortController();
  try {
    await waitForTopic(admin, spec.topic, spec.replicationFactor);
    const partitions = admin.partitions(spec.topic).map((p) => p.partition);
    const started = performance.now();
    const window: Window = {
      fromMs: started + settings.warmupMs,
      toMs: started + settings.warmupMs + settings.durationMs,
    };
    const e2e = new LatencyLog();
    let lastSeenSentAt = 0;
    const consumers = partitions.map(async (partition) => {
      try {
        for await (const batch of consumePartition(admin, spec.topic, partition, {
          untilHighWatermark: false,
          maxWaitMs: CONSUMER_MAX_WAIT_MS,
          signal: stop.signal,
        })) {
          const now = performance.now();
          // Walks the batch's bytes: a record object per record would cost more than the rest of the consumer.
          forEachValue(batch.bytes, 0, (bytes, valueStart) => {
            const sentAt = bytes.readDoubleBE(valueStart);
            if (sentAt >= window.fromMs && sentAt <= window.toMs) e2e.add(now - sentAt);
            if (sentAt > lastSeenSentAt) lastSeenSentAt = sentAt;
          });
        }
      } catch (err) {
        if (!stop.signal.aborted) throw err;
      }
    });
    const stats = { acked: 0, errors: 0, firstError: '', produce: new LatencyLog() };
    const loops: Promise<void>[] = [];
    for (let i = 0; i < spec.producers; i++) {
      const client = new ClusterClient(cluster.controllerAddress);
      clients.push(client);
      await client.refresh(spec.topic);
      const producer = new Producer(client, {
        acks: spec.acks,
        batchSizeBytes: settings.batchSizeBytes,
        lingerMs: settings.lingerMs,
        maxInFlight: settings.maxInFlight,
        bufferMemoryBytes: settings.bufferMemoryBytes,
      });
      loops.push(produceLoop(producer, spec.topic, settings, window, stats));
    }
    await Promise.all(loops);
    // The consumers catch up with the window's records (or the drain time runs out).
    const drainUntil = performance.now() + CONSUMER_DRAIN_MS;
    while (lastSeenSentAt < window.toMs - 50 && performance.now() < drainUntil) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await Promise.all(consumers);
    const elapsedSec = settings.durationMs / 1000;
    const recordsPerSec = stats.acked / elapsedSec;
    return {
      records: stats.acked,
      elapsedSec,
      recordsPerSec,
      mbPerSec: (recordsPerSec * settings.valueBytes) / 1e6,
      produceP50Ms: stats.produce.percentile(50),
      produceP99Ms: stats.produce.percentile(99),
      e2eP50Ms: e2e.percentile(50),
      e2eP99Ms: e2e.percentile(99),
      errors: stats.errors,
      ...(stats.firstError === '' ? {} : { firstError: stats.firstError }),
    };
  } finally {
    stop.abort();
    await Promise.all(clients.map((c) => c.close()));
    await admin.close();
  }
}
