import { setBatchProducer } from '../../protocol/records-codec.js';
import type { Failure } from './errors.js';
import type { ProducerBatch } from './producer-batch.js';
import type { PartitionQueue } from './record-accumulator.js';

/** What to do with a batch whose try failed. */
export type FailureDecision = 'retry' | 'give-up';

/**
 * One partition's idempotent-producer sequence numbers, and how a failure
 * is recovered from without breaking their order (the part of Kafka's
 * TransactionManager an idempotent producer uses).
 *
 * Every closed batch carries the producer id and the sequence of its first
 * record; the leader appends a producer's batches only in sequence order.
 * After a failed try the partition is `recovering`: one batch in flight at a
 * time until the retried ones are through, so retries keep their order. A
 * batch that fails for good leaves a gap the leader would refuse for ever, so
 * the batches after it are renumbered under a new producer id (`resetPending`)
 * once nothing is in flight; so are they when the leader has lost this
 * producer's state (UNKNOWN_PRODUCER_ID with nothing earlier pending).
 */
export class ProducerSequences {
  /** Null when the producer is not idempotent: batches carry no id or sequence. */
  producerId: number | null;
  nextSequence = 0;
  recovering = false;
  resetPending = false;

  constructor(producerId: number | null) {
    this.producerId = producerId;
  }

  /** The id and first sequence of a batch of `records` being closed; -1 without idempotence. */
  assign(records: number): { producerId: number | null; sequence: number } {
    if (this.producerId === null) return { producerId: null, sequence: -1 };
    const sequence = this.nextSequence;
    this.nextSequence += records;
    return { producerId: this.producerId, sequence };
  }

  /**
   * Decides after a failed try. The leader refuses a sequence gap
   * (OUT_OF_ORDER_SEQUENCE) or a producer it has no state for
   * (UNKNOWN_PRODUCER_ID): behind an earlier batch that is being retried,
   * both are expected, and the batch is retried after it. UNKNOWN_PRODUCER_ID
   * with nothing earlier pending means the leader lost our state: start over
   * under a new producer id from this batch on.
   */
  afterFailure(
    queue: PartitionQueue,
    batch: ProducerBatch,
    failure: Failure,
    mayRetry: boolean,
  ): FailureDecision {
    const sequenceRefusal =
      failure.code === 'OUT_OF_ORDER_SEQUENCE' || failure.code === 'UNKNOWN_PRODUCER_ID';
    const behindEarlier = sequenceRefusal && queue.hasEarlierPending(batch);
    const startOver = failure.code === 'UNKNOWN_PRODUCER_ID' && !behindEarlier;
    this.recovering = true;
    if ((failure.retriable || behindEarlier || startOver) && mayRetry) {
      if (startOver) this.resetPending = true;
      return 'retry';
    }
    if (this.producerId !== null) this.resetPending = true;
    return 'give-up';
  }

  /** A batch succeeded: recovery is over once nothing retried is left and no renumbering is due. */
  afterSuccess(queue: PartitionQueue): void {
    if (this.recovering && !this.resetPending && queue.batches.every((b) => b.tries === 0)) {
      this.recovering = false;
    }
  }

  /**
   * Whether the sender may send the queue's next batch now: while
   * recovering, only with nothing in flight, and only after renumbering
   * under a new producer id if one is due.
   */
  readyToSend(queue: PartitionQueue, newProducerId: () => number): boolean {
    if (!this.recovering) return true;
    if (queue.inFlight.size > 0) return false;
    if (this.resetPending) this.renumber(queue, newProducerId());
    return true;
  }

  /** Gives the closed batches still queued a new producer id and sequences from 0, in their order. */
  private renumber(queue: PartitionQueue, producerId: number): void {
    this.resetPending = false;
    if (this.producerId === null) return;
    this.producerId = producerId;
    this.nextSequence = 0;
    for (const b of queue.batches) {
      if (!b.closed) continue;
      b.producerId = producerId;
      b.sequence = this.nextSequence;
      this.nextSequence += b.records.length;
      setBatchProducer(b.body!, { producerId, sequence: b.sequence });
    }
  }
}

/** A new producer id: random rather than broker-assigned (Kafka's InitProducerId); enough for a demo, never persisted. */
export function newProducerId(): number {
  return Math.floor(Math.random() * 2 ** 48);
}

/** The sequences of a partition queue just opened. */
export function startingSequences(idempotent: boolean): ProducerSequences {
  return new ProducerSequences(idempotent ? newProducerId() : null);
}
