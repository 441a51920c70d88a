import { Acks } from '../../protocol/codes.js';
import type { ClusterClient } from '../cluster-client.js';
import { refusedBeforeSending } from './errors.js';
import { Partitioner } from './partitioner.js';
import type { RecordCallbacks, RecordMetadata } from './producer-batch.js';
import { RecordAccumulator } from './record-accumulator.js';
import { Sender } from './sender.js';

export { ProduceFailedError } from './errors.js';
export type { RecordMetadata } from './producer-batch.js';

/** Kafka's producer defaults, where this producer has the same setting. */
export const PRODUCER_DEFAULTS = {
  /** batch.size */
  batchSizeBytes: 16 * 1024,
  /** linger.ms (Kafka 4.0's default) */
  lingerMs: 5,
  /** max.in.flight.requests.per.connection */
  maxInFlight: 5,
  /** buffer.memory */
  bufferMemoryBytes: 32 * 1024 * 1024,
  /** request.timeout.ms on the broker side of an acks=all wait */
  requestTimeoutMs: 5000,
  /** Bounded, unlike Kafka's effectively infinite retries within delivery.timeout.ms. */
  retries: 10,
  /** Kafka's retry.backoff.ms is 100; 200 lets 10 retries span a leader failover of the demo's timings. */
  retryBackoffMs: 200,
} as const;

export interface ProducerOptions {
  acks: Acks;
  /** Kafka's batch.size: a batch is sent once it holds this many bytes (a larger record gets a batch of its own). */
  batchSizeBytes?: number;
  /** Kafka's linger.ms: how long a batch that is not full may wait for more records before it is sent. */
  lingerMs?: number;
  /** Kafka's max.in.flight.requests.per.connection: produce requests awaiting an answer, per broker. */
  maxInFlight?: number;
  /** Kafka's buffer.memory: bytes of batches not yet answered before `waitForBufferSpace` makes callers wait. */
  bufferMemoryBytes?: number;
  /** How long the broker may hold an acks=all produce (the client waits that plus a margin). */
  requestTimeoutMs?: number;
  /** Retries of a batch after a retriable error (Kafka's `retries`, bounded here). */
  retries?: number;
  retryBackoffMs?: number;
  /**
   * Send a producer id and per-record sequence numbers with each batch, so
   * the leader appends each batch once and in order across retries: a retry
   * of an appended batch is answered with its offsets, a gap is refused.
   * Default: on for acks=1 and acks=all (as Kafka 3+).
   */
  idempotent?: boolean;
}

export interface ProduceRecord {
  topic: string;
  /** Without it: crc32(key) modulo the partition count, or for a null key the partition being filled (sticky). */
  partition?: number;
  key?: Buffer | null;
  value: Buffer;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number;
}

/**
 * A producer like Kafka's, in Kafka's parts: the Partitioner picks each
 * record's partition, the RecordAccumulator collects records in
 * per-partition batches (sent when full, `batchSizeBytes`, or after
 * `lingerMs`), and the Sender sends them, at most `maxInFlight` produce
 * requests awaiting an answer per broker, retrying with the same producer id
 * and sequence (ProducerSequences keeps the order across retries, so the
 * leader appends each batch once). `send()` resolves per record once its
 * batch is acknowledged (acks=1/all) or written to the socket (acks=0);
 * `flush()` sends everything buffered and waits for it. The producer never
 * creates a topic: a record for an unknown one fails with
 * UNKNOWN_TOPIC_OR_PARTITION (create it first: admin.ts `createTopic`).
 */
export class Producer {
  private readonly cluster: ClusterClient;
  private readonly partitioner: Partitioner;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly lingerMs: number;
  /** Sends for topics whose metadata is being fetched, kept in call order. */
  private readonly awaitingMetadata = new Map<
    string,
    { sends: Array<(metadataError?: unknown) => void>; ready: Promise<void> }
  >();
  private closed = false;

  constructor(cluster: ClusterClient, options: ProducerOptions) {
    this.cluster = cluster;
    const idempotent = options.idempotent ?? options.acks !== Acks.NONE;
    this.lingerMs = options.lingerMs ?? PRODUCER_DEFAULTS.lingerMs;
    this.partitioner = new Partitioner(cluster);
    this.accumulator = new RecordAccumulator({
      batchSizeBytes: options.batchSizeBytes ?? PRODUCER_DEFAULTS.batchSizeBytes,
      bufferMemoryBytes: options.bufferMemoryBytes ?? PRODUCER_DEFAULTS.bufferMemoryBytes,
      idempotent,
      onBatchClosed: (topic) => this.partitioner.batchClosed(topic),
    });
    this.sender = new Sender(cluster, this.accumulator, {
      acks: options.acks,
      lingerMs: this.lingerMs,
      maxInFlight: Math.max(1, options.maxInFlight ?? PRODUCER_DEFAULTS.maxInFlight),
      requestTimeoutMs: options.requestTimeoutMs ?? PRODUCER_DEFAULTS.requestTimeoutMs,
      retries: options.retries ?? PRODUCER_DEFAULTS.retries,
      retryBackoffMs: options.retryBackoffMs ?? PRODUCER_DEFAULTS.retryBackoffMs,
      idempotent,
    });
  }

  /** Bytes of batches created and not yet answered. */
  get bufferedBytesNow(): number {
    return this.accumulator.bufferedBytesNow;
  }

  /** Resolves at once while the buffer is below `bufferMemoryBytes`, otherwise once it is (Kafka's max.block.ms wait). */
  waitForBufferSpace(): Promise<void> {
    return this.accumulator.waitForBufferSpace();
  }

  /**
   * Adds a record to its partition's batch (its key and value are copied in
   * once the topic's metadata is known); resolves with where it landed, or
   * rejects with ProduceFailedError.
   */
  send(record: ProduceRecord): Promise<RecordMetadata> {
    if (this.closed) {
      return Promise.reject(
        refusedBeforeSending(
          `produce to ${record.topic} refused: the producer is closed`,
          undefined,
          'PRODUCER_CLOSED',
        ),
      );
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      const callbacks: RecordCallbacks = { resolve, reject, timestamp: record.timestamp ?? Date.now() };
      const enqueue = (metadataError?: unknown) => this.enqueue(record, callbacks, metadataError);
      const waiting = this.awaitingMetadata.get(record.topic);
      if (waiting !== undefined) {
        waiting.sends.push(enqueue);
        return;
      }
      if (this.partitioner.partitionsOf(record.topic).length > 0) {
        enqueue();
        return;
      }
      const sends = [enqueue];
      const ready = this.cluster.refresh(record.topic).then(
        () => this.metadataArrived(record.topic, sends, undefined),
        // Each send queued meanwhile fails with what the metadata said (the topic does not exist, say).
        (err: unknown) => this.metadataArrived(record.topic, sends, err),
      );
      this.awaitingMetadata.set(record.topic, { sends, ready });
    });
  }

  private metadataArrived(topic: string, sends: Array<(error?: unknown) => void>, error: unknown): void {
    this.awaitingMetadata.delete(topic);
    for (const run of sends) run(error);
  }

  /** Sends every buffered record now, and resolves once each has succeeded or failed. */
  async flush(): Promise<void> {
    while (this.awaitingMetadata.size > 0) {
      await Promise.all([...this.awaitingMetadata.values()].map((w) => w.ready));
    }
    const batches = this.accumulator.pendingBatches();
    if (batches.size === 0) return;
    this.sender.flushing++;
    try {
      const ended = this.accumulator.whenEnded(batches);
      this.sender.run();
      await ended;
    } finally {
      this.sender.flushing--;
    }
  }

  /** Flushes, then refuses further sends. The cluster client stays the caller's. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.sender.stop();
  }

  private enqueue(record: ProduceRecord, callbacks: RecordCallbacks, metadataError?: unknown): void {
    let partition: number;
    try {
      if (metadataError !== undefined) throw metadataError;
      partition = this.partitioner.partition(record);
    } catch (err) {
      callbacks.reject(refusedBeforeSending(`produce to ${record.topic} failed: ${String(err)}`, err));
      return;
    }
    const { batch, created, full } = this.accumulator.append(
      record.topic,
      partition,
      record.key ?? null,
      record.value,
      callbacks,
      performance.now(),
    );
    if (created) this.sender.batchCreated(batch);
    if (full || this.lingerMs === 0) this.sender.runSoon();
  }
}
