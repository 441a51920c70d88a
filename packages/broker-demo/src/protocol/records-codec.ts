import { crc32 } from 'node:zlib';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  checkBatch,
  LOG_OVERHEAD,
  MAX_BATCH_BYTES,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RECORD_OVERHEAD_BYTES,
} from '../log/record-batch.js';

/**
 * The produce request body: exactly one record batch in the log's own format
 * (see log/record-batch.ts), built by the producer as Kafka's producer builds
 * its RecordBatch. The producer leaves baseOffset 0 and leaderEpoch -1; the
 * leader checks the CRC and the record layout, then stamps both fields (the
 * CRC does not cover them) and appends the bytes as one log batch, without
 * decoding or re-encoding a record.
 */

export interface ProducerRecord {
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
}

/** An idempotent producer's identity for one batch: its id and the sequence number of the batch's first record. */
export interface BatchProducer {
  producerId: number;
  sequence: number;
}

export class RecordsFormatError extends Error {
  readonly code = 'RECORDS_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'RecordsFormatError';
  }
}

const CRC_START = 20;
const TWO_POW_32 = 2 ** 32;

function writeInt64(buf: Buffer, value: number, pos: number): void {
  buf.writeInt32BE(Math.floor(value / TWO_POW_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

/** Bytes one record takes in a batch. */
export function recordSizeInBatch(key: Buffer | null, value: Buffer): number {
  return RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + value.length;
}

/**
 * Builds one batch record by record into a buffer sized up front (the
 * producer's batch.size, or one oversized record), so closing it writes the
 * header and CRC and copies nothing.
 */
export class BatchBuilder {
  private readonly buffer: Buffer;
  private position = BATCH_HEADER_BYTES;
  private count = 0;
  private maxTimestamp = -1;

  /** `capacityBytes` includes the batch header. */
  constructor(capacityBytes: number) {
    if (capacityBytes > MAX_BATCH_BYTES) {
      throw new RecordsFormatError(`a batch of ${capacityBytes} bytes exceeds ${MAX_BATCH_BYTES}`);
    }
    this.buffer = Buffer.allocUnsafe(Math.max(capacityBytes, BATCH_HEADER_BYTES + RECORD_OVERHEAD_BYTES));
  }

  get recordCount(): number {
    return this.count;
  }

  get sizeInBytes(): number {
    return this.position;
  }

  /** True when a record of `bytes` (recordSizeInBatch) still fits. */
  hasRoomFor(bytes: number): boolean {
    return this.position + bytes <= this.buffer.length;
  }

  /** Appends a record; the caller has checked hasRoomFor. */
  append(key: Buffer | null, value: Buffer, timestamp: number): void {
    const buf = this.buffer;
    let pos = this.position;
    buf.writeInt32BE(this.count, pos);
    writeInt64(buf, timestamp, pos + 4);
    pos += 12;
    if (key === null) {
      buf.writeInt32BE(-1, pos);
      pos += 4;
    } else {
      buf.writeInt32BE(key.length, pos);
      pos += 4 + key.copy(buf, pos + 4);
    }
    buf.writeInt32BE(value.length, pos);
    pos += 4 + value.copy(buf, pos + 4);
    this.position = pos;
    this.count++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  /** The finished batch: a view of the builder's buffer, with header and CRC written; `producer` for idempotent batches. */
  build(producer?: BatchProducer): Buffer {
    if (this.count === 0) throw new RecordsFormatError('a batch needs at least one record');
    const buf = this.buffer.subarray(0, this.position);
    writeInt64(buf, 0, 0);
    buf.writeInt32BE(this.position - LOG_OVERHEAD, 8);
    buf.writeInt32BE(-1, 12);
    buf.writeInt32BE(this.count, 20);
    writeInt64(buf, this.maxTimestamp, 24);
    writeInt64(buf, producer?.producerId ?? NO_PRODUCER_ID, 32);
    buf.writeInt32BE(producer?.sequence ?? NO_SEQUENCE, 40);
    buf.writeUInt32BE(crc32(buf.subarray(CRC_START)), 16);
    return buf;
  }
}

/**
 * Gives a built batch another producer id and sequence (a producer starting
 * over renumbers the batches it has not sent yet); the CRC covers them, so it
 * is computed again.
 */
export function setBatchProducer(batch: Buffer, producer: BatchProducer): void {
  writeInt64(batch, producer.producerId, 32);
  batch.writeInt32BE(producer.sequence, 40);
  batch.writeUInt32BE(crc32(batch.subarray(CRC_START)), 16);
}

/** One batch holding `records`, as a producer sends it. */
export function encodeProducerBatch(records: readonly ProducerRecord[], producer?: BatchProducer): Buffer {
  let size = BATCH_HEADER_BYTES;
  for (const r of records) size += recordSizeInBatch(r.key, r.value);
  const builder = new BatchBuilder(size);
  for (const r of records) builder.append(r.key, r.value, r.timestamp);
  return builder.build(producer);
}

/**
 * The leader's check of a produce body: one whole batch, CRC right, and
 * every record's lengths inside it (a CRC only proves the bytes are the
 * producer's, not that the producer wrote a valid layout). Allocates nothing
 * per record. Returns the batch header; throws RecordsFormatError otherwise.
 */
export function validateProducedBatch(body: Buffer): BatchHeader {
  const check = checkBatch(body, 0);
  if (check.status === 'incomplete') {
    throw new RecordsFormatError(
      `produce body is cut short: ${body.length} bytes, the batch needs ${check.needBytes}`,
    );
  }
  if (check.status === 'corrupt') throw new RecordsFormatError(`produce body: ${check.reason}`);
  const header = check.header;
  const idempotent = header.producerId !== NO_PRODUCER_ID;
  if (
    header.producerId < NO_PRODUCER_ID ||
    (idempotent ? header.baseSequence < 0 : header.baseSequence !== NO_SEQUENCE)
  ) {
    throw new RecordsFormatError(
      `produce body: producer id ${header.producerId} with base sequence ${header.baseSequence}`,
    );
  }
  if (header.sizeInBytes !== body.length) {
    throw new RecordsFormatError(
      `produce body holds ${body.length - header.sizeInBytes} bytes after its batch; one batch per request`,
    );
  }
  const end = body.length;
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < header.recordCount; i++) {
    if (end - pos < RECORD_OVERHEAD_BYTES) throw new RecordsFormatError(`record ${i} is cut short`);
    const delta = body.readInt32BE(pos);
    if (delta !== i) throw new RecordsFormatError(`record ${i} has offset delta ${delta}`);
    const keyLength = body.readInt32BE(pos + 12);
    pos += 16;
    if (keyLength < -1 || end - pos < Math.max(keyLength, 0) + 4) {
      throw new RecordsFormatError(`record ${i} key length ${keyLength} overruns the batch`);
    }
    if (keyLength > 0) pos += keyLength;
    const valueLength = body.readInt32BE(pos);
    pos += 4;
    if (valueLength < 0 || end - pos < valueLength) {
      throw new RecordsFormatError(`record ${i} value length ${valueLength} overruns the batch`);
    }
    pos += valueLength;
  }
  if (pos !== end) throw new RecordsFormatError(`${end - pos} stray bytes after the last record`);
  return header;
}

/** Stamps the offset and epoch the leader gives a validated batch (fields outside the CRC). */
export function stampBatch(batch: Buffer, baseOffset: number, leaderEpoch: number): void {
  writeInt64(batch, baseOffset, 0);
  batch.writeInt32BE(leaderEpoch, 12);
}

/**
 * Calls `visit(bytes, valueStart, valueLength)` for each record of the
 * already validated batch starting at `start` in `bytes`, allocating
 * nothing: for readers that need a few bytes of every value (the bench's
 * timestamps) and not a record object each.
 */
export function forEachValue(
  bytes: Buffer,
  start: number,
  visit: (bytes: Buffer, valueStart: number, valueLength: number) => void,
): void {
  const count = bytes.readInt32BE(start + 20);
  let pos = start + BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const keyLength = bytes.readInt32BE(pos + 12);
    pos += 16 + Math.max(keyLength, 0);
    const valueLength = bytes.readInt32BE(pos);
    visit(bytes, pos + 4, valueLength);
    pos += 4 + valueLength;
  }
}
