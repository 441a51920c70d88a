import { crc32 } from 'node:zlib';
import { LogError } from './errors.js';

/**
 * The record batch, the unit the log writes, indexes, replicates and serves.
 * All integers are big-endian (Kafka's habit). 64-bit fields hold JS safe
 * integers, written as a high and a low 32-bit word so no BigInt is needed.
 *
 *   offset  size  field
 *        0     8  baseOffset     int64   offset of the first record
 *        8     4  batchLength    int32   bytes after this field
 *       12     4  leaderEpoch    int32   epoch of the leader that appended it
 *       16     4  crc            uint32  CRC-32 (zlib's) of bytes 20..end
 *       20     4  recordCount    int32   >= 1
 *       24     8  maxTimestamp   int64   ms
 *       32     8  producerId     int64   idempotent producer's id, -1 for none
 *       40     4  baseSequence   int32   its sequence number of the first record, -1 for none
 *       44     …  records, each:
 *                   offsetDelta int32   (0, 1, 2, … in order; offsets are contiguous)
 *                   timestamp   int64
 *                   keyLength   int32   (-1 = null key)
 *                   key         keyLength bytes
 *                   valueLength int32
 *                   value       valueLength bytes
 *
 * As in Kafka, the CRC leaves out baseOffset and leaderEpoch (they are
 * stamped per log, not per producer); recovery and follower appends catch a
 * damaged baseOffset by insisting that offsets run on without a gap.
 * lastOffset = baseOffset + recordCount - 1 because nothing compacts this log.
 * The producer fields are the producer's own (inside the CRC), as in Kafka's
 * v2 batches: every replica that holds a batch knows whose it was, so a
 * follower, or a broker recovering its log, rebuilds the idempotent
 * producers' state from the batches themselves.
 */

/** baseOffset + batchLength: the bytes before what batchLength counts. */
export const LOG_OVERHEAD = 12;
/** Everything before the first record. */
export const BATCH_HEADER_BYTES = 44;
/** producerId of a batch from a producer that is not idempotent (and of batches the broker builds). */
export const NO_PRODUCER_ID = -1;
/** baseSequence of such a batch. */
export const NO_SEQUENCE = -1;
/** offsetDelta + timestamp + keyLength + valueLength. */
export const RECORD_OVERHEAD_BYTES = 20;
const CRC_START = 20;
const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD + RECORD_OVERHEAD_BYTES;
/** Larger lengths are damage, not data: no producer here sends batches this big. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export interface LogRecord {
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
}

export interface DecodedRecord extends LogRecord {
  offset: number;
  leaderEpoch: number;
}

export interface BatchHeader {
  baseOffset: number;
  lastOffset: number;
  leaderEpoch: number;
  recordCount: number;
  maxTimestamp: number;
  /** The idempotent producer's id, or NO_PRODUCER_ID. */
  producerId: number;
  /** The producer's sequence number of the first record, or NO_SEQUENCE. */
  baseSequence: number;
  /** The whole batch on disk, LOG_OVERHEAD included. */
  sizeInBytes: number;
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  leaderEpoch: number;
  records: DecodedRecord[];
}

export type BatchCheck =
  | { status: 'ok'; header: BatchHeader }
  /** The bytes end before the batch does: a torn write at the end of a file, or a read that stopped short. */
  | { status: 'incomplete'; needBytes: number }
  | { status: 'corrupt'; reason: string };

const TWO_POW_32 = 2 ** 32;

function writeInt64(buf: Buffer, value: number, pos: number): void {
  buf.writeInt32BE(Math.floor(value / TWO_POW_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

/** Builds one batch; offsets are stamped here, not by the producer. */
export function encodeBatch(baseOffset: number, leaderEpoch: number, records: readonly LogRecord[]): Buffer {
  if (records.length === 0) throw new LogError('LOG_INVALID_ARGUMENT', 'a batch needs at least one record');
  let size = BATCH_HEADER_BYTES;
  let maxTimestamp = -1;
  for (const record of records) {
    size += RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + record.value.length;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  if (size > MAX_BATCH_BYTES) {
    throw new LogError('LOG_INVALID_ARGUMENT', `a batch of ${size} bytes exceeds ${MAX_BATCH_BYTES}`);
  }
  const buf = Buffer.allocUnsafe(size);
  writeInt64(buf, baseOffset, 0);
  buf.writeInt32BE(size - LOG_OVERHEAD, 8);
  buf.writeInt32BE(leaderEpoch, 12);
  buf.writeInt32BE(records.length, 20);
  writeInt64(buf, maxTimestamp, 24);
  writeInt64(buf, NO_PRODUCER_ID, 32);
  buf.writeInt32BE(NO_SEQUENCE, 40);
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    buf.writeInt32BE(i, pos);
    writeInt64(buf, record.timestamp, pos + 4);
    pos += 12;
    if (record.key === null) {
      buf.writeInt32BE(-1, pos);
      pos += 4;
    } else {
      buf.writeInt32BE(record.key.length, pos);
      pos += 4 + record.key.copy(buf, pos + 4);
    }
    buf.writeInt32BE(record.value.length, pos);
    pos += 4 + record.value.copy(buf, pos + 4);
  }
  buf.writeUInt32BE(crc32(buf.subarray(CRC_START)), 16);
  return buf;
}

/**
 * Checks the batch starting at `pos` in `buf[..end]`: length sane, bytes all
 * there, CRC right. `end` defaults to the buffer's length.
 */
export function checkBatch(buf: Buffer, pos: number, end = buf.length): BatchCheck {
  if (end - pos < LOG_OVERHEAD) return { status: 'incomplete', needBytes: LOG_OVERHEAD };
  const batchLength = buf.readInt32BE(pos + 8);
  if (batchLength < MIN_BATCH_LENGTH || batchLength > MAX_BATCH_BYTES) {
    return { status: 'corrupt', reason: `batch length ${batchLength} is impossible` };
  }
  const sizeInBytes = LOG_OVERHEAD + batchLength;
  if (end - pos < sizeInBytes) return { status: 'incomplete', needBytes: sizeInBytes };
  const header = readBatchHeader(buf, pos);
  if (header.baseOffset < 0) return { status: 'corrupt', reason: `base offset ${header.baseOffset}` };
  if (
    header.recordCount < 1 ||
    header.recordCount > (sizeInBytes - BATCH_HEADER_BYTES) / RECORD_OVERHEAD_BYTES
  ) {
    return {
      status: 'corrupt',
      reason: `record count ${header.recordCount} does not fit ${sizeInBytes} bytes`,
    };
  }
  const stored = buf.readUInt32BE(pos + 16);
  const actual = crc32(buf.subarray(pos + CRC_START, pos + sizeInBytes));
  if (stored !== actual) {
    return { status: 'corrupt', reason: `CRC mismatch at base offset ${header.baseOffset}` };
  }
  return { status: 'ok', header };
}

/** The header fields of the batch at `pos`; the caller has made sure BATCH_HEADER_BYTES are there. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  const baseOffset = readInt64(buf, pos);
  const recordCount = buf.readInt32BE(pos + 20);
  return {
    baseOffset,
    lastOffset: baseOffset + recordCount - 1,
    leaderEpoch: buf.readInt32BE(pos + 12),
    recordCount,
    maxTimestamp: readInt64(buf, pos + 24),
    producerId: readInt64(buf, pos + 32),
    baseSequence: buf.readInt32BE(pos + 40),
    sizeInBytes: LOG_OVERHEAD + buf.readInt32BE(pos + 8),
  };
}

/**
 * Decodes whole batches (as returned by PartitionLog.read), checking each CRC.
 * A read that started inside a batch returns that whole batch, so callers
 * skip records below the offset they asked for. Keys and values are views
 * into `bytes`, not copies.
 */
export function decodeBatches(bytes: Buffer): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const check = checkBatch(bytes, pos);
    if (check.status === 'incomplete') {
      throw new LogError(
        'LOG_CORRUPT_BATCH',
        `batch at byte ${pos} is cut short (${bytes.length - pos} bytes left)`,
      );
    }
    if (check.status === 'corrupt')
      throw new LogError('LOG_CORRUPT_BATCH', `batch at byte ${pos}: ${check.reason}`);
    batches.push(decodeRecords(bytes, pos, check.header));
    pos += check.header.sizeInBytes;
  }
  return batches;
}

function decodeRecords(bytes: Buffer, start: number, header: BatchHeader): DecodedBatch {
  const end = start + header.sizeInBytes;
  const records: DecodedRecord[] = [];
  let pos = start + BATCH_HEADER_BYTES;
  const fail = (why: string): never => {
    throw new LogError('LOG_CORRUPT_BATCH', `batch at base offset ${header.baseOffset}: ${why}`);
  };
  for (let i = 0; i < header.recordCount; i++) {
    if (end - pos < RECORD_OVERHEAD_BYTES) fail(`record ${i} is cut short`);
    const offsetDelta = bytes.readInt32BE(pos);
    if (offsetDelta !== i) fail(`record ${i} has offset delta ${offsetDelta}`);
    const timestamp = readInt64(bytes, pos + 4);
    const keyLength = bytes.readInt32BE(pos + 12);
    pos += 16;
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      if (end - pos < keyLength + 4) fail(`record ${i} key overruns the batch`);
      key = bytes.subarray(pos, pos + keyLength);
      pos += keyLength;
    } else if (keyLength !== -1) {
      fail(`record ${i} key length ${keyLength}`);
    }
    const valueLength = bytes.readInt32BE(pos);
    pos += 4;
    if (valueLength < 0 || end - pos < valueLength) fail(`record ${i} value length ${valueLength}`);
    const value = bytes.subarray(pos, pos + valueLength);
    pos += valueLength;
    records.push({ offset: header.baseOffset + i, leaderEpoch: header.leaderEpoch, key, value, timestamp });
  }
  if (pos !== end) fail(`${end - pos} stray bytes after the last record`);
  return {
    baseOffset: header.baseOffset,
    lastOffset: header.lastOffset,
    leaderEpoch: header.leaderEpoch,
    records,
  };
}

/**
 * Checks fetched bytes before a follower appends them: whole batches, each
 * CRC right, the first at `logEndOffset` and each following on from the one
 * before. Returns their headers; throws LogError otherwise.
 */
export function validateBatchSequence(bytes: Buffer, logEndOffset: number): BatchHeader[] {
  const headers: BatchHeader[] = [];
  let expected = logEndOffset;
  let pos = 0;
  while (pos < bytes.length) {
    const check = checkBatch(bytes, pos);
    if (check.status === 'incomplete') {
      throw new LogError(
        'LOG_CORRUPT_BATCH',
        `batch at byte ${pos} is cut short: ${bytes.length - pos} bytes left`,
      );
    }
    if (check.status === 'corrupt')
      throw new LogError('LOG_CORRUPT_BATCH', `batch at byte ${pos}: ${check.reason}`);
    if (check.header.baseOffset !== expected) {
      throw new LogError(
        'LOG_OFFSET_MISMATCH',
        `batch at byte ${pos} starts at offset ${check.header.baseOffset}, the log expects ${expected}`,
      );
    }
    headers.push(check.header);
    expected = check.header.lastOffset + 1;
    pos += check.header.sizeInBytes;
  }
  return headers;
}
