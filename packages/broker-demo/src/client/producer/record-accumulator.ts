import { recordSizeInBatch } from '../../protocol/records-codec.js';
import { ProducerBatch, type RecordCallbacks } from './producer-batch.js';
import { type ProducerSequences, startingSequences } from './sequence-recovery.js';

/**
 * One partition's batches, oldest first (retried batches go back in
 * sequence order), with its idempotent-producer sequences and its send state.
 */
export class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  readonly inFlight = new Set<ProducerBatch>();
  /** Its producer id and next sequence, and where a recovery after a failure stands. */
  readonly sequences: ProducerSequences;
  /** Not before this time (performance.now()): the backoff after a failed try. */
  retryAtMs = 0;
  /** The leader's address and the metadata snapshot it came from. */
  leaderAddress: string | null = null;
  leaderOf: unknown = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    idempotent: boolean,
  ) {
    this.sequences = startingSequences(idempotent);
  }

  get openBatch(): ProducerBatch | undefined {
    const last = this.batches[this.batches.length - 1];
    return last === undefined || last.closed ? undefined : last;
  }

  /** Puts a batch to be retried back ahead of every batch with a higher sequence (and of the open one). */
  requeue(batch: ProducerBatch): void {
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
  hasEarlierPending(batch: ProducerBatch): boolean {
    const earlier = (b: ProducerBatch) =>
      b !== batch && b.producerId === batch.producerId && b.sequence >= 0 && b.sequence < batch.sequence;
    for (const b of this.inFlight) if (earlier(b)) return true;
    return this.batches.some((b) => b.closed && earlier(b));
  }
}

export interface AccumulatorOptions {
  /** Kafka's batch.size. */
  batchSizeBytes: number;
  /** Kafka's buffer.memory. */
  bufferMemoryBytes: number;
  idempotent: boolean;
  /** Told when a batch of `topic` closes (the sticky partitioner moves on). */
  onBatchClosed: (topic: string) => void;
}

/**
 * Kafka's RecordAccumulator: records collect in one open batch per
 * partition, sized by batch.size (a larger record gets a batch of its own);
 * every batch created counts against buffer.memory until it has been
 * answered, and `flush()` waits for a set of batches to end.
 */
export class RecordAccumulator {
  private readonly options: AccumulatorOptions;
  /** Per topic, its partitions' queues indexed by partition number. */
  private readonly queues = new Map<string, PartitionQueue[]>();
  /** Every queue, in creation order: what the sender walks. */
  readonly allQueues: PartitionQueue[] = [];
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly flushWaiters = new Set<{ batches: Set<ProducerBatch>; resolve: () => void }>();
  private bufferedBytes = 0;

  constructor(options: AccumulatorOptions) {
    this.options = options;
  }

  /** Bytes of batches created and not yet answered. */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /** Resolves at once while the buffer is below buffer.memory, otherwise once it is. */
  waitForBufferSpace(): Promise<void> {
    if (this.bufferedBytes < this.options.bufferMemoryBytes) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /**
   * Appends a record to its partition's open batch, opening a new one when
   * there is none or it has no room. Says which batch took it, whether that
   * batch is new (the sender then arms its linger timer) and whether it is
   * full now (ready to send at once).
   */
  append(
    topic: string,
    partition: number,
    key: Buffer | null,
    value: Buffer,
    callbacks: RecordCallbacks,
    nowMs: number,
  ): { batch: ProducerBatch; created: boolean; full: boolean } {
    const queue = this.queueFor(topic, partition);
    const size = recordSizeInBatch(key, value);
    let batch = queue.openBatch;
    if (batch !== undefined && !batch.builder.hasRoomFor(size)) {
      this.close(queue, batch);
      batch = undefined;
    }
    let created = false;
    if (batch === undefined) {
      const capacity = Math.max(this.options.batchSizeBytes, size + 32);
      batch = new ProducerBatch(capacity, nowMs);
      this.bufferedBytes += capacity;
      queue.batches.push(batch);
      created = true;
    }
    batch.builder.append(key, value, callbacks.timestamp);
    batch.records.push(callbacks);
    if (!batch.builder.hasRoomFor(size)) this.close(queue, batch);
    return { batch, created, full: batch.closed };
  }

  /** Closes a batch: its body and sequence are fixed from here on, across every retry. */
  close(queue: PartitionQueue, batch: ProducerBatch): void {
    if (batch.closed) return;
    const { producerId, sequence } = queue.sequences.assign(batch.records.length);
    batch.producerId = producerId;
    batch.sequence = sequence;
    // The id and sequence go into the batch itself (Kafka's v2 header): every
    // replica that holds it can tell whose batch it is.
    batch.body = batch.builder.build(producerId === null ? undefined : { producerId, sequence });
    this.options.onBatchClosed(queue.topic);
  }

  /** Every batch not yet ended, queued or in flight. */
  pendingBatches(): Set<ProducerBatch> {
    const batches = new Set<ProducerBatch>();
    for (const q of this.allQueues) {
      for (const b of q.batches) batches.add(b);
      for (const b of q.inFlight) batches.add(b);
    }
    return batches;
  }

  /** Resolves once every batch of `batches` has ended (succeeded or failed). */
  whenEnded(batches: Set<ProducerBatch>): Promise<void> {
    if (batches.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.add({ batches, resolve }));
  }

  /** A batch has ended: its memory is free, and flushes waiting for it may be done. */
  ended(batch: ProducerBatch): void {
    this.bufferedBytes -= batch.capacityBytes;
    while (this.spaceWaiters.length > 0 && this.bufferedBytes < this.options.bufferMemoryBytes) {
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

  private queueFor(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queues.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition, this.options.idempotent);
      byPartition[partition] = queue;
      this.allQueues.push(queue);
    }
    return queue;
  }
}
