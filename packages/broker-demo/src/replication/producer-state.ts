import { NO_PRODUCER_ID, readBatchHeader } from '../log/index.js';
import { BrokerResponseCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import type { ReplicaLog } from './replica-log.js';

/**
 * Where one producer batch landed in the log: the producer id, the sequence
 * number of its first record (Kafka's baseSequence) and its offsets. The last
 * record's sequence is baseSequence + (lastOffset - baseOffset).
 */
export interface ProducerBatch {
  producerId: number;
  sequence: number;
  baseOffset: number;
  lastOffset: number;
}

/** What the leader does with an incoming idempotent batch. */
export type SequenceCheck =
  /** The next batch in order (or a new producer's first, at sequence 0). */
  | { kind: 'append' }
  /** A producer this replica has no state for, at a sequence other than 0: refuse with UNKNOWN_PRODUCER_ID. */
  | { kind: 'unknown-producer' }
  /** A retry of a batch already in the log: answer with its offsets, append nothing. */
  | { kind: 'duplicate'; batch: ProducerBatch }
  /** A gap or an unknown old batch: refuse with OUT_OF_ORDER_SEQUENCE, append nothing. */
  | { kind: 'out-of-order'; expectedSequence: number };

/** How much of the log one read of `rebuildFrom` takes (it needs the batch headers only). */
const REBUILD_READ_BYTES = 1 << 20;

/** Kafka keeps 5 batches per producer (max.in.flight); more lets a slow retry still be recognised. */
const MAX_SEQUENCES_PER_PRODUCER = 64;
const MAX_BATCHES = 20_000;

function lastSequenceOf(batch: ProducerBatch): number {
  return batch.sequence + (batch.lastOffset - batch.baseOffset);
}

/**
 * Recent producer batches of one partition replica, so that the leader
 * appends each producer's batches exactly once and in sequence order
 * (Kafka's idempotent producer): a retry of a batch it has is answered with
 * the original offsets; a batch whose base sequence is not the one after the
 * producer's last is refused. Every replica builds it from the batches it
 * holds (each batch header carries its producer id and base sequence): the
 * leader as it appends, a follower as it copies the leader's batches, a
 * restarted broker from its log; so a follower that becomes leader knows the
 * batches a producer may still be retrying. A producer this replica knows
 * nothing of must start at sequence 0; any other sequence may follow a batch
 * this replica never saw (or forgot: the table keeps a bounded number), so it
 * is refused and the producer starts over.
 */
export class ProducerStateTable {
  /** Per producer, its batches in append (= sequence) order. */
  private readonly byProducer = new Map<number, ProducerBatch[]>();
  private readonly byOffset = new Map<number, ProducerBatch>();

  get size(): number {
    return this.byOffset.size;
  }

  find(producerId: number, sequence: number): ProducerBatch | undefined {
    return this.byProducer.get(producerId)?.find((b) => b.sequence === sequence);
  }

  /** The sequence of the producer's last appended record, or undefined if it is unknown here. */
  lastSequence(producerId: number): number | undefined {
    const batches = this.byProducer.get(producerId);
    const last = batches?.[batches.length - 1];
    return last === undefined ? undefined : lastSequenceOf(last);
  }

  /** The leader's decision for a batch of `recordCount` records starting at `sequence`. */
  check(producerId: number, sequence: number, recordCount: number): SequenceCheck {
    const batches = this.byProducer.get(producerId);
    if (batches === undefined || batches.length === 0) {
      return sequence === 0 ? { kind: 'append' } : { kind: 'unknown-producer' };
    }
    const earlier = batches.find((b) => b.sequence === sequence);
    if (earlier !== undefined && earlier.lastOffset - earlier.baseOffset + 1 === recordCount) {
      return { kind: 'duplicate', batch: earlier };
    }
    const expected = lastSequenceOf(batches[batches.length - 1]!) + 1;
    return sequence === expected ? { kind: 'append' } : { kind: 'out-of-order', expectedSequence: expected };
  }

  /**
   * The leader's check of an idempotent batch before it appends: the earlier
   * batch when this is a retry of one still in the log (answer with its
   * offsets, append nothing), null when it is next in order (append it).
   * A retry of a batch a truncation cut is appended again: it is not in the
   * log any more.
   * @throws BrokerError UNKNOWN_PRODUCER_ID for a producer this replica has
   *   no state for at a sequence other than 0; OUT_OF_ORDER_SEQUENCE for a gap
   *   (with the expected sequence in the details). Nothing is appended then.
   */
  checkAppend(
    producerId: number,
    sequence: number,
    recordCount: number,
    logEndOffset: number,
    partition: string,
  ): ProducerBatch | null {
    const decision = this.check(producerId, sequence, recordCount);
    if (decision.kind === 'duplicate' && decision.batch.lastOffset < logEndOffset) return decision.batch;
    if (decision.kind === 'unknown-producer') {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_PRODUCER_ID,
        `${partition}: no state for producer ${producerId}, whose batch starts at sequence ${sequence}; nothing appended`,
      );
    }
    if (decision.kind === 'out-of-order') {
      throw new BrokerError(
        BrokerResponseCode.OUT_OF_ORDER_SEQUENCE,
        `${partition}: producer ${producerId} sent sequence ${sequence}, expected ${decision.expectedSequence}; nothing appended`,
        { details: { expectedSequence: String(decision.expectedSequence) } },
      );
    }
    return null;
  }

  /** Records the idempotent producers' batches among `bytes` (whole log batches, back to back). */
  recordBatches(bytes: Buffer): void {
    let pos = 0;
    while (pos < bytes.length) {
      const h = readBatchHeader(bytes, pos);
      if (h.producerId !== NO_PRODUCER_ID) {
        this.record({
          producerId: h.producerId,
          sequence: h.baseSequence,
          baseOffset: h.baseOffset,
          lastOffset: h.lastOffset,
        });
      }
      pos += h.sizeInBytes;
    }
  }

  /**
   * Rebuilds the state from the batches in a log (Kafka rebuilds it from the
   * log on start too, from its last snapshot; there are no snapshots here, so
   * this reads the whole log once). A batch the read refuses (a CRC mismatch
   * in an old segment) ends the scan: the producers of the batches after it
   * are then unknown here, which refuses their next batch with
   * UNKNOWN_PRODUCER_ID rather than guessing; the caller repairs the log.
   */
  async rebuildFrom(log: Pick<ReplicaLog, 'logStartOffset' | 'logEndOffset' | 'read'>): Promise<{
    batches: number;
    error?: unknown;
  }> {
    const before = this.size;
    let offset = log.logStartOffset;
    try {
      while (offset < log.logEndOffset) {
        const read = await log.read(offset, REBUILD_READ_BYTES);
        try {
          if (read.bytes.length === 0) break;
          this.recordBatches(read.bytes);
        } finally {
          read.release();
        }
        offset = read.nextOffset;
      }
    } catch (error) {
      return { batches: this.size - before, error };
    }
    return { batches: this.size - before };
  }

  record(batch: ProducerBatch): void {
    let batches = this.byProducer.get(batch.producerId);
    if (batches === undefined) {
      batches = [];
      this.byProducer.set(batch.producerId, batches);
    }
    batches.push(batch);
    if (batches.length > MAX_SEQUENCES_PER_PRODUCER) this.byOffset.delete(batches.shift()!.baseOffset);
    this.byOffset.set(batch.baseOffset, batch);
    if (this.byOffset.size > MAX_BATCHES) this.forget(this.byOffset.values().next().value!);
  }

  /** The log was truncated at `offset`: batches at or past it are gone. */
  truncate(offset: number): void {
    for (const batch of [...this.byOffset.values()]) if (batch.baseOffset >= offset) this.forget(batch);
  }

  private forget(batch: ProducerBatch): void {
    this.byOffset.delete(batch.baseOffset);
    const batches = this.byProducer.get(batch.producerId);
    if (batches === undefined) return;
    const i = batches.indexOf(batch);
    if (i >= 0) batches.splice(i, 1);
    if (batches.length === 0) this.byProducer.delete(batch.producerId);
  }
}
