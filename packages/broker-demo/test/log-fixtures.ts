import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import {
  type DecodedRecord,
  decodeBatches,
  type LogConfig,
  type LogRecord,
  PartitionLog,
} from '../src/log/index.js';

/** A fresh directory, removed when the test ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'broker-log-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a log that is closed when the test ends (closing twice is harmless). */
export async function openLog(config: LogConfig): Promise<PartitionLog> {
  const log = await PartitionLog.open(config);
  onTestFinished(() => log.close());
  return log;
}

/** `count` records whose value names them, so a test can tell any two apart; `size` bytes each. */
export function makeRecords(count: number, tag: string, size = 128): LogRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const label = `${tag}-${i}`;
    const value = Buffer.alloc(Math.max(size, label.length), '.');
    value.write(label);
    return { key: i % 3 === 0 ? null : Buffer.from(`k${i}`), value, timestamp: 1_700_000_000_000 + i };
  });
}

/** Every record from `fromOffset` below `maxOffset`, by repeated reads of `maxBytes`. */
export async function readAll(
  log: PartitionLog,
  fromOffset = log.logStartOffset,
  maxOffset = log.logEndOffset,
  maxBytes = 64 * 1024,
): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  let offset = fromOffset;
  while (offset < maxOffset) {
    const result = await log.read(offset, maxBytes, maxOffset);
    if (result.bytes.length === 0) break;
    for (const batch of decodeBatches(result.bytes)) {
      for (const record of batch.records) if (record.offset >= offset) records.push(copyRecord(record));
    }
    result.release();
    offset = result.nextOffset;
  }
  return records;
}

/** Keys and values decode as views of the read buffer; keep copies past release(). */
function copyRecord(record: DecodedRecord): DecodedRecord {
  return { ...record, key: record.key && Buffer.from(record.key), value: Buffer.from(record.value) };
}

export function valueText(record: { value: Buffer }): string {
  return record.value.toString().replace(/\.+$/, '');
}

/** Segment base offsets, from the file names in `dir`. */
export async function segmentBases(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .filter((name) => name.endsWith('.log'))
    .map((name) => Number(name.slice(0, -4)))
    .sort((a, b) => a - b);
}
