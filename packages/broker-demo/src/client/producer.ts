import { crc32 } from 'node:zlib';
import { RemotingCommand, RemotingError, ResponseCode } from '@remoting-ts/remoting';
import { Acks, BrokerResponseCode, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { header, ProduceRequestHeader, ProduceResponseHeader } from '../protocol/headers.js';
import { BatchBuilder, recordSizeInBatch, setBatchProducer } from '../protocol/records-codec.js';
import { responseError } from '../protocol/responses.js';
import type { ClusterClient } from './cluster-client.js';

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

/** How much longer than the broker's acks=all wait the client waits for the answer. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;

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

/** Where a record went (Kafka's RecordMetadata), and how it got there. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 for acks=0: nobody told us. */
  offset: number;
  timestamp: number;
  /** Produce requests sent for the record's batch; more than 1 means it was resent. */
  attempts: number;
  /** The leader recognised a retry of a batch it already had and did not append it again. */
  deduplicated: boolean;
}

/** Raised for every record of a batch that gave up; `maybeAppended` says whether an attempt may have reached the log. */
export class ProduceFailedError extends Error {
  readonly code: string;
  /** Produce requests sent for the batch (tries that found no leader are not counted). */
  readonly attempts: number;
  /**
   * True when some attempt may have reached the log: a request written to
   * the socket whose answer never came, or a broker that says it appended
   * before failing. False only when every attempt was refused or never sent.
   */
  readonly maybeAppended: boolean;

  constructor(
    message: string,
    options: { code: string; attempts: number; maybeAppended: boolean; cause: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProduceFailedError';
    this.code = options.code;
    this.attempts = options.attempts;
    this.maybeAppended = options.maybeAppended;
  }
}

interface Failure {
  code: string;
  retriable: boolean;
  /** The records may be in the log (remoting's `written`, or the broker's `appended`). */
  written: boolean;
}

/** Classifies an error by what the errors themselves say, not by lists of codes. */
function classify(err: unknown): Failure {
  if (err instanceof BrokerError) return { code: err.code, retriable: err.retriable, written: err.appended };
  if (err instanceof RemotingError) {
    const written = (err as RemotingError & { written?: unknown }).written === true;
    return { code: err.code, retriable: err.retriable, written };
  }
  // Not ours to understand: never retried, and we cannot say it was not appended.
  return { code: 'PRODUCE_FAILED', retriable: false, written: true };
}

interface RecordCallbacks {
  resolve: (metadata: RecordMetadata) => void;
  reject: (err: unknown) => void;
  timestamp: number;
}

/** One batch on its way: records appended while open, then a fixed body and sequence across its sends. */
class OutgoingBatch {
  readonly builder: BatchBuilder;
  readonly records: RecordCallbacks[] = [];
  readonly createdMs: number;
  readonly capacityBytes: number;
  body: Buffer | null = null;
  producerId: number | null = null;
  sequence = -1;
  /** Produce requests actually sent for this batch. */
  attempts = 0;
  /** Tries, counting those that found no leader to send to: what `retries` bounds. */
  tries = 0;
  maybeAppended = false;

  constructor(capacityBytes: number, now: number) {
    this.capacityBytes = capacityBytes;
    this.builder = new BatchBuilder(capacityBytes);
    this.createdMs = now;
  }

  get closed(): boolean {
    return this.body !== null;
  }
}

/** One partition's batches, oldest first (retried batches go back in sequence order), and its send state. */
class PartitionQueue {
  readonly batches: OutgoingBatch[] = [];
  readonly inFlight = new Set<OutgoingBatch>();
  /** After a failure: one batch in flight at a time until the retried ones are through, so order holds. */
  recovering = false;
  /** A batch failed for good: renumber what is left under a new producer id once nothing is in flight. */
  resetPending = false;
  retryAtMs = 0;
  nextSequence = 0;
  /** The leader's address and the metadata snapshot it came from. */
  leaderAddress: string | null = null;
  leaderOf: unknown = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    public producerId: number | null,
  ) {}

  get openBatch(): OutgoingBatch | undefined {
    const last = this.batches[this.batches.length - 1];
    return last === undefined || last.closed ? undefined : last;
  }

  /** Puts a batch to be retried back ahead of every batch with a higher sequence (and of the open one). */
  requeue(batch: OutgoingBatch): void {
    let i = 0;
    while (
      i < this.batches.length &&
      this.batches[i]!.closed &&
      this.batches[i]!.sequence < batch.sequence &&
      this.batches[i]!.producerId === batch.producerId
    )
      i++;
    this.batches.splice(i, 0, batch);
  }

  /** True while a batch earlier than `batch` is waiting to be retried or still in flight. */
  hasEarlierPending(batch: OutgoingBatch): boolean {
    const earlier = (b: OutgoingBatch) =>
      b !== batch && b.producerId === batch.producerId && b.sequence >= 0 && b.sequence < batch.sequence;
    for (const b of this.inFlight) if (earlier(b)) return true;
    return this.batches.some((b) => b.closed && earlier(b));
  }
}

function newProducerId(): number {
  // Random rather than broker-assigned (Kafka's InitProducerId): enough for a demo, never persisted.
  return Math.floor(Math.random() * 2 ** 48);
}

/**
 * A producer like Kafka's: records collect in per-partition batches that are
 * sent when full (`batchSizeBytes`) or after `lingerMs`, with at most
 * `maxInFlight` produce requests awaiting an answer per broker. `send()`
 * resolves per record once its batch is acknowledged (acks=1/all) or written
 * to the socket (acks=0); `flush()` sends everything buffered and waits for
 * it. Retriable failures are retried with the same producer id and sequence,
 * one batch at a time until the failed ones are through, so the leader's
 * sequence checks keep records in order and each batch in the log once.
 */
export class Producer {
  private readonly cluster: ClusterClient;
  private readonly acks: Acks;
  private readonly batchSizeBytes: number;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly bufferMemoryBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly idempotent: boolean;
  /** Per topic, its partitions' queues indexed by partition number. */
  private readonly queues = new Map<string, PartitionQueue[]>();
  private readonly allQueues: PartitionQueue[] = [];
  /** Produce requests awaiting an answer, per broker address. */
  private readonly inFlightByAddress = new Map<string, number>();
  /** Sends for topics whose metadata is being fetched, kept in call order. */
  private readonly awaitingMetadata = new Map<string, { sends: Array<() => void>; ready: Promise<void> }>();
  private readonly stickyPartition = new Map<string, number>();
  /** Per topic, its partition numbers as of `partitionsOf` (recomputed when the metadata object changes). */
  private partitionCache = new Map<string, number[]>();
  private partitionCacheOf: unknown = null;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly flushWaiters = new Set<{ batches: Set<OutgoingBatch>; resolve: () => void }>();
  private bufferedBytes = 0;
  private flushing = 0;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Number.POSITIVE_INFINITY;
  /** Metadata refreshes in flight, one per topic. */
  private readonly refreshing = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(cluster: ClusterClient, options: ProducerOptions) {
    this.cluster = cluster;
    this.acks = options.acks;
    this.batchSizeBytes = options.batchSizeBytes ?? PRODUCER_DEFAULTS.batchSizeBytes;
    this.lingerMs = options.lingerMs ?? PRODUCER_DEFAULTS.lingerMs;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? PRODUCER_DEFAULTS.maxInFlight);
    this.bufferMemoryBytes = options.bufferMemoryBytes ?? PRODUCER_DEFAULTS.bufferMemoryBytes;
    this.requestTimeoutMs = options.requestTimeoutMs ?? PRODUCER_DEFAULTS.requestTimeoutMs;
    this.retries = options.retries ?? PRODUCER_DEFAULTS.retries;
    this.retryBackoffMs = options.retryBackoffMs ?? PRODUCER_DEFAULTS.retryBackoffMs;
    this.idempotent = options.idempotent ?? options.acks !== Acks.NONE;
  }

  /** Bytes of batches created and not yet answered. */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /** Resolves at once while the buffer is below `bufferMemoryBytes`, otherwise once it is (Kafka's max.block.ms wait). */
  waitForBufferSpace(): Promise<void> {
    if (this.bufferedBytes < this.bufferMemoryBytes) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /**
   * Adds a record to its partition's batch (its key and value are copied in
   * once the topic's metadata is known); resolves with where it landed, or
   * rejects with ProduceFailedError.
   */
  send(record: ProduceRecord): Promise<RecordMetadata> {
    if (this.closed) {
      return Promise.reject(
        new ProduceFailedError(`produce to ${record.topic} refused: the producer is closed`, {
          code: 'PRODUCER_CLOSED',
          attempts: 0,
          maybeAppended: false,
          cause: undefined,
        }),
      );
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      const callbacks: RecordCallbacks = { resolve, reject, timestamp: record.timestamp ?? Date.now() };
      const waiting = this.awaitingMetadata.get(record.topic);
      if (waiting !== undefined) {
        waiting.sends.push(() => this.enqueue(record, callbacks));
        return;
      }
      if (this.partitionsOf(record.topic).length > 0) {
        this.enqueue(record, callbacks);
        return;
      }
      const sends = [() => this.enqueue(record, callbacks)];
      // Each queued send fails on its own if the metadata still lacks the topic.
      const ready = this.cluster
        .refresh(record.topic)
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          this.awaitingMetadata.delete(record.topic);
          for (const run of sends) run();
        });
      this.awaitingMetadata.set(record.topic, { sends, ready });
    });
  }

  /** Sends every buffered record now, and resolves once each has succeeded or failed. */
  async flush(): Promise<void> {
    while (this.awaitingMetadata.size > 0) {
      await Promise.all([...this.awaitingMetadata.values()].map((w) => w.ready));
    }
    const batches = new Set<OutgoingBatch>();
    for (const q of this.allQueues) {
      for (const b of q.batches) batches.add(b);
      for (const b of q.inFlight) batches.add(b);
    }
    if (batches.size === 0) return;
    this.flushing++;
    try {
      await new Promise<void>((resolve) => {
        this.flushWaiters.add({ batches, resolve });
        this.pump();
      });
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then refuses further sends. The cluster client stays the caller's. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private enqueue(record: ProduceRecord, callbacks: RecordCallbacks): void {
    let partition: number;
    try {
      partition = this.choosePartition(record);
    } catch (err) {
      callbacks.reject(
        new ProduceFailedError(`produce to ${record.topic} failed: ${String(err)}`, {
          ...codeOf(err),
          attempts: 0,
          maybeAppended: false,
          cause: err,
        }),
      );
      return;
    }
    const queue = this.queueFor(record.topic, partition);
    const key = record.key ?? null;
    const size = recordSizeInBatch(key, record.value);
    let batch = queue.openBatch;
    if (batch !== undefined && !batch.builder.hasRoomFor(size)) {
      this.closeBatch(queue, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      const capacity = Math.max(this.batchSizeBytes, size + 32);
      batch = new OutgoingBatch(capacity, performance.now());
      this.bufferedBytes += capacity;
      queue.batches.push(batch);
      this.schedule(batch.createdMs + this.lingerMs);
    }
    batch.builder.append(key, record.value, callbacks.timestamp);
    batch.records.push(callbacks);
    if (!batch.builder.hasRoomFor(size)) this.closeBatch(queue, batch);
    if (batch.closed || this.lingerMs === 0) this.schedulePump();
  }

  private choosePartition(record: ProduceRecord): number {
    const partitions = this.partitionsOf(record.topic);
    if (record.partition !== undefined) {
      if (!partitions.includes(record.partition)) {
        throw new BrokerError(
          BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${record.topic}-${record.partition} is not in the metadata`,
        );
      }
      return record.partition;
    }
    if (partitions.length === 0) {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
        `${record.topic} has no partitions`,
      );
    }
    if (record.key != null) return partitions[crc32(record.key) % partitions.length]!;
    const sticky = this.stickyPartition.get(record.topic) ?? 0;
    return partitions[sticky % partitions.length]!;
  }

  /** The topic's partitions, cached per metadata snapshot: this runs for every record. */
  private partitionsOf(topic: string): number[] {
    const snapshot = this.cluster.metadata;
    if (snapshot !== this.partitionCacheOf) {
      this.partitionCache = new Map();
      this.partitionCacheOf = snapshot;
    }
    let partitions = this.partitionCache.get(topic);
    if (partitions === undefined) {
      partitions = this.cluster.partitions(topic).map((p) => p.partition);
      this.partitionCache.set(topic, partitions);
    }
    return partitions;
  }

  private queueFor(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queues.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition, this.idempotent ? newProducerId() : null);
      byPartition[partition] = queue;
      this.allQueues.push(queue);
    }
    return queue;
  }

  /** Closes a batch: its body and sequence are fixed from here on, across every retry. */
  private closeBatch(queue: PartitionQueue, batch: OutgoingBatch): void {
    if (batch.closed) return;
    batch.producerId = queue.producerId;
    if (queue.producerId !== null) {
      batch.sequence = queue.nextSequence;
      queue.nextSequence += batch.records.length;
    }
    // The id and sequence go into the batch itself (Kafka's v2 header): every
    // replica that holds it can tell whose batch it is.
    batch.body = batch.builder.build(
      batch.producerId === null ? undefined : { producerId: batch.producerId, sequence: batch.sequence },
    );
    // The sticky partitioner moves on once a batch is full, spreading null-key records.
    const sticky = this.stickyPartition.get(queue.topic) ?? 0;
    this.stickyPartition.set(queue.topic, sticky + 1);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // setImmediate, not a microtask: records sent in the same turn share a batch.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Wakes the pump at `atMs` (performance.now() time) unless it is already due earlier. */
  private schedule(atMs: number): void {
    if (this.closed || atMs >= this.timerAtMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAtMs = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, atMs - performance.now()),
    );
  }

  /** Sends every batch that is due and has a free in-flight slot; arranges a wake-up for the rest. */
  private pump(): void {
    const now = performance.now();
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const queue of this.allQueues) {
      for (;;) {
        const batch = queue.batches[0];
        if (batch === undefined) break;
        if (queue.recovering) {
          if (queue.inFlight.size > 0) break;
          if (queue.resetPending) this.renumber(queue);
        }
        if (queue.retryAtMs > now) {
          wakeAt = Math.min(wakeAt, queue.retryAtMs);
          break;
        }
        const due = batch.closed || this.flushing > 0 || now - batch.createdMs >= this.lingerMs;
        if (!due) {
          wakeAt = Math.min(wakeAt, batch.createdMs + this.lingerMs);
          break;
        }
        let address: string;
        try {
          address = this.leaderOf(queue);
        } catch (err) {
          this.closeBatch(queue, batch);
          queue.batches.shift();
          batch.tries++;
          this.onFailure(queue, batch, err);
          continue;
        }
        if ((this.inFlightByAddress.get(address) ?? 0) >= this.maxInFlight) break;
        this.closeBatch(queue, batch);
        queue.batches.shift();
        this.sendBatch(queue, batch, address);
      }
    }
    if (wakeAt !== Number.POSITIVE_INFINITY) this.schedule(wakeAt);
  }

  /** The partition leader's address, looked up once per metadata snapshot. */
  private leaderOf(queue: PartitionQueue): string {
    const snapshot = this.cluster.metadata;
    if (queue.leaderOf !== snapshot || queue.leaderAddress === null) {
      queue.leaderAddress = this.cluster.leaderAddress(queue.topic, queue.partition);
      queue.leaderOf = snapshot;
    }
    return queue.leaderAddress;
  }

  /** After a batch failed for good, the leader would refuse the gap it leaves: start a new producer id. */
  private renumber(queue: PartitionQueue): void {
    queue.resetPending = false;
    if (queue.producerId === null) return;
    queue.producerId = newProducerId();
    queue.nextSequence = 0;
    for (const b of queue.batches) {
      if (!b.closed) continue;
      b.producerId = queue.producerId;
      b.sequence = queue.nextSequence;
      queue.nextSequence += b.records.length;
      setBatchProducer(b.body!, { producerId: b.producerId, sequence: b.sequence });
    }
  }

  private sendBatch(queue: PartitionQueue, batch: OutgoingBatch, address: string): void {
    batch.attempts++;
    batch.tries++;
    queue.inFlight.add(batch);
    this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 0) + 1);
    const request = RemotingCommand.createRequest(
      RequestCode.PRODUCE,
      header(ProduceRequestHeader, {
        topic: queue.topic,
        partition: queue.partition,
        acks: this.acks,
        timeoutMs: this.requestTimeoutMs,
        ...(batch.producerId === null ? {} : { producerId: batch.producerId, sequence: batch.sequence }),
      }),
    ).setBody(batch.body);
    const answered =
      this.acks === Acks.NONE
        ? this.cluster.rpc
            .invokeOneway(address, request, this.requestTimeoutMs)
            .then(() => ({ baseOffset: -1, deduplicated: false }))
        : this.cluster.rpc
            .invokeSync(address, request, this.requestTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS)
            .then((response) => {
              if (response.code !== ResponseCode.SUCCESS) {
                throw responseError(response, `produce to ${queue.topic}-${queue.partition}`);
              }
              const h = response.decodeCustomHeader(ProduceResponseHeader);
              return { baseOffset: h.baseOffset, deduplicated: h.duplicate === true };
            });
    answered
      .then(
        (result) => {
          this.release(queue, batch, address);
          this.onSuccess(queue, batch, result.baseOffset, result.deduplicated);
        },
        (err: unknown) => {
          this.release(queue, batch, address);
          this.onFailure(queue, batch, err);
        },
      )
      .finally(() => this.pump());
  }

  private release(queue: PartitionQueue, batch: OutgoingBatch, address: string): void {
    queue.inFlight.delete(batch);
    const n = (this.inFlightByAddress.get(address) ?? 1) - 1;
    if (n === 0) this.inFlightByAddress.delete(address);
    else this.inFlightByAddress.set(address, n);
  }

  private onSuccess(
    queue: PartitionQueue,
    batch: OutgoingBatch,
    baseOffset: number,
    deduplicated: boolean,
  ): void {
    if (queue.recovering && !queue.resetPending && queue.batches.every((b) => b.tries === 0)) {
      queue.recovering = false;
    }
    const { records } = batch;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      r.resolve({
        topic: queue.topic,
        partition: queue.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: r.timestamp,
        attempts: batch.attempts,
        deduplicated,
      });
    }
    this.finished(batch);
  }

  private onFailure(queue: PartitionQueue, batch: OutgoingBatch, err: unknown): void {
    const failure = classify(err);
    if (failure.written) batch.maybeAppended = true;
    // The leader refuses a sequence gap (OUT_OF_ORDER_SEQUENCE) or a producer
    // it has no state for (UNKNOWN_PRODUCER_ID). Behind an earlier batch that
    // is being retried, both are expected: retry after it. UNKNOWN_PRODUCER_ID
    // with nothing earlier pending means the leader lost our state: start over
    // under a new producer id from this batch on.
    const sequenceRefusal =
      failure.code === 'OUT_OF_ORDER_SEQUENCE' || failure.code === 'UNKNOWN_PRODUCER_ID';
    const behindEarlier = sequenceRefusal && queue.hasEarlierPending(batch);
    const startOver = failure.code === 'UNKNOWN_PRODUCER_ID' && !behindEarlier;
    const retriable = failure.retriable || behindEarlier || startOver;
    queue.recovering = true;
    if (retriable && batch.tries <= this.retries && !this.closed) {
      if (startOver) queue.resetPending = true;
      queue.requeue(batch);
      queue.retryAtMs = performance.now() + this.retryBackoffMs;
      this.schedule(queue.retryAtMs);
      this.refreshMetadata(queue.topic);
      return;
    }
    if (queue.producerId !== null) queue.resetPending = true;
    const error = new ProduceFailedError(
      `produce to ${queue.topic}-${queue.partition} failed after ${batch.tries} tries ` +
        `(${batch.attempts} sent): ${String(err)}`,
      { code: failure.code, attempts: batch.attempts, maybeAppended: batch.maybeAppended, cause: err },
    );
    for (const r of batch.records) r.reject(error);
    this.finished(batch);
  }

  private refreshMetadata(topic: string): void {
    if (this.refreshing.has(topic)) return;
    this.refreshing.set(
      topic,
      this.cluster
        .refresh(topic)
        .catch(() => undefined)
        .finally(() => {
          this.refreshing.delete(topic);
          this.pump();
        }),
    );
  }

  private finished(batch: OutgoingBatch): void {
    this.bufferedBytes -= batch.capacityBytes;
    while (this.spaceWaiters.length > 0 && this.bufferedBytes < this.bufferMemoryBytes) {
      this.spaceWaiters.shift()!();
    }
    for (const waiter of this.flushWaiters) {
      waiter.batches.delete(batch);
      if (waiter.batches.size === 0) {
        this.flushWaiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}

function codeOf(err: unknown): { code: string } {
  return { code: err instanceof BrokerError || err instanceof RemotingError ? err.code : 'PRODUCE_FAILED' };
}
