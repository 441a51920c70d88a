import { BatchBuilder } from '../../protocol/records-codec.js';

/** Where a record went (Kafka's RecordMetadata), and how it got there. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 for acks=0: nobody told us. */
  offset: number;
  timestamp: number;
  /** Produce requests sent for the record's batch; more than 1 means it was resent. */
  attempts: number;
  /** The codes of the attempts that failed before the one that succeeded, in order (empty if none did). */
  retriedAfter: string[];
  /** The leader recognised a retry of a batch it already had and did not append it again. */
  deduplicated: boolean;
  /**
   * An earlier attempt may have been appended as well, so the record may be
   * in the log twice: only possible without idempotence, for an attempt
   * written to the socket whose answer never came.
   */
  maybeDuplicated: boolean;
}

/** What a waiting `send()` is told when its batch ends. */
export interface RecordCallbacks {
  resolve: (metadata: RecordMetadata) => void;
  reject: (err: unknown) => void;
  timestamp: number;
}

/**
 * One batch on its way (Kafka's ProducerBatch): records appended while it is
 * open, then, once closed, a fixed body and producer sequence across every
 * send of it.
 */
export class ProducerBatch {
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
  /** Codes of the tries that failed, in order. */
  readonly failures: string[] = [];
  maybeAppended = false;

  constructor(capacityBytes: number, nowMs: number) {
    this.capacityBytes = capacityBytes;
    this.builder = new BatchBuilder(capacityBytes);
    this.createdMs = nowMs;
  }

  get closed(): boolean {
    return this.body !== null;
  }
}
