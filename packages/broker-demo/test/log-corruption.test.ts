import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CorruptBatchReport,
  decodeBatches,
  LogError,
  PartitionLog,
  segmentFileName,
} from '../src/log/index.js';
import { makeRecords, openLog, readAll, segmentBases, tempDir, valueText } from './log-fixtures.js';

/*
 * Corruption in a segment other than the last: recovery trusts those (a roll
 * fsyncs them), so only the CRC check of every batch served, or the
 * verify-every-segment option on open, can find it.
 */

const BATCH_BYTES = 32 + 10 * (20 + 128 + 2) + 4; // about; only used to size segments to a few batches
const SEGMENT_BYTES = BATCH_BYTES * 3;

/** 12 batches of 10 records over several segments, closed; returns the segment bases. */
async function writeLog(dir: string): Promise<number[]> {
  const log = await PartitionLog.open({ dir, segmentBytes: SEGMENT_BYTES, indexIntervalBytes: 1024 });
  for (let b = 0; b < 12; b++) await log.append(makeRecords(10, `b${b}`), 1);
  await log.close();
  return segmentBases(dir);
}

/** Flips one byte inside the records of the second batch of segment `base` (its CRC no longer matches). */
async function corruptSecondBatch(
  dir: string,
  base: number,
  where: 'records' | 'length' = 'records',
): Promise<{ file: string; position: number }> {
  const file = path.join(dir, segmentFileName(base, '.log'));
  const handle = await open(file, 'r+');
  try {
    const header = Buffer.alloc(12);
    await handle.read(header, 0, 12, 0);
    const firstBatchBytes = 12 + header.readInt32BE(8);
    // 'length': the batch length field (bytes 8..11), so even a scan of headers trips on it.
    const target = firstBatchBytes + (where === 'records' ? 60 : 8);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, target);
    byte[0]! ^= 0xff;
    await handle.write(byte, 0, 1, target);
    return { file, position: firstBatchBytes };
  } finally {
    await handle.close();
  }
}

/** Reads from 0 until the log refuses; returns the offsets served and the refusal. */
async function readUntilRefused(log: PartitionLog): Promise<{ offsets: number[]; refusal: unknown }> {
  const offsets: number[] = [];
  let offset = 0;
  try {
    while (offset < log.logEndOffset) {
      const result = await log.read(offset, 1 << 20);
      if (result.bytes.length === 0) break;
      for (const batch of decodeBatches(result.bytes)) for (const r of batch.records) offsets.push(r.offset);
      result.release();
      offset = result.nextOffset;
    }
  } catch (err) {
    return { offsets, refusal: err };
  }
  return { offsets, refusal: null };
}

describe('corruption in an older segment', () => {
  it('a read finds it by CRC, reports offset and bytes once, and serves only what lies before it', async () => {
    const dir = await tempDir();
    const bases = await writeLog(dir);
    expect(bases.length).toBeGreaterThan(2);
    const damaged = await corruptSecondBatch(dir, bases[0]!);
    const corruptOffset = bases[0]! + 10;

    const reports: CorruptBatchReport[] = [];
    const log = await openLog({ dir, segmentBytes: SEGMENT_BYTES, onCorruptBatch: (r) => reports.push(r) });
    // Recovery scans only the last segment: the damage is not seen on open.
    expect(log.logEndOffset).toBe(120);
    expect(log.recovery).toEqual([]);

    const { offsets, refusal } = await readUntilRefused(log);
    expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(refusal).toBeInstanceOf(LogError);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      segmentFile: damaged.file,
      position: damaged.position,
      offset: corruptOffset,
    });
    expect(reports[0]!.reason).toMatch(/CRC mismatch/);
    expect(reports[0]!.bytesToSegmentEnd).toBe((await stat(damaged.file)).size - damaged.position);
    expect(log.corruptBatch?.offset).toBe(corruptOffset);

    // At or past the corrupt batch: a typed refusal, not damaged bytes; later segments are withheld too.
    const refused = await log.read(corruptOffset, 1 << 20).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LogError);
    expect((refused as LogError).code).toBe('LOG_CORRUPT_BATCH');
    expect((refused as LogError).message).toMatch(new RegExp(`corrupt batch at offset ${corruptOffset}`));
    await expect(log.read(bases[2]!, 1 << 20)).rejects.toMatchObject({ code: 'LOG_CORRUPT_BATCH' });
    expect(reports).toHaveLength(1);
  });

  it('truncating before the corrupt batch clears it, and the log takes the records again', async () => {
    const dir = await tempDir();
    const bases = await writeLog(dir);
    await corruptSecondBatch(dir, bases[0]!);
    const log = await openLog({ dir, segmentBytes: SEGMENT_BYTES });
    await readUntilRefused(log);
    const at = log.corruptBatch!.offset;
    await log.truncateTo(at);
    expect(log.corruptBatch).toBeNull();
    expect(log.logEndOffset).toBe(at);
    await log.append(makeRecords(10, 'again'), 2);
    const records = await readAll(log);
    expect(records).toHaveLength(20);
    expect(valueText(records[10]!)).toBe('again-0');
  });

  it('a damaged batch length is found too, and truncation cuts at the known position', async () => {
    const dir = await tempDir();
    const bases = await writeLog(dir);
    const damaged = await corruptSecondBatch(dir, bases[0]!, 'length');
    const log = await openLog({ dir, segmentBytes: SEGMENT_BYTES });
    const { offsets } = await readUntilRefused(log);
    expect(offsets).toHaveLength(10);
    expect(log.corruptBatch).toMatchObject({ offset: 10, position: damaged.position });
    expect(log.corruptBatch!.reason).toMatch(/batch length -?\d+ is impossible/);
    await log.truncateTo(10);
    expect(log.logEndOffset).toBe(10);
    expect((await stat(damaged.file)).size).toBe(damaged.position);
    expect(log.corruptBatch).toBeNull();
  });

  it('verifyAllSegments finds it on open, cuts the log there and says what it dropped', async () => {
    const dir = await tempDir();
    const bases = await writeLog(dir);
    const damaged = await corruptSecondBatch(dir, bases[1]!);
    const log = await openLog({ dir, segmentBytes: SEGMENT_BYTES, verifyAllSegments: true });
    expect(log.logEndOffset).toBe(bases[1]! + 10);
    expect(log.recovery).toHaveLength(1);
    const event = log.recovery[0]!;
    expect(event.segmentFile).toBe(damaged.file);
    expect(event.keptBytes).toBe(damaged.position);
    expect(event.nextOffset).toBe(bases[1]! + 10);
    expect(event.truncatedBytes).toBeGreaterThan(0);
    expect(event.reason).toMatch(/corrupt batch at byte \d+: CRC mismatch/);
    expect(event.droppedSegments.map((d) => path.basename(d.file))).toEqual(
      bases.slice(2).map((b) => segmentFileName(b, '.log')),
    );
    expect(await segmentBases(dir)).toEqual(bases.slice(0, 2));
    expect((await readAll(log)).length).toBe(bases[1]! + 10);
  });

  it('recovery of a torn tail on open is reported, not silent', async () => {
    const dir = await tempDir();
    const bases = await writeLog(dir);
    const last = path.join(dir, segmentFileName(bases[bases.length - 1]!, '.log'));
    const size = (await stat(last)).size;
    const handle = await open(last, 'r+');
    await handle.truncate(size - 7);
    await handle.close();
    const log = await openLog({ dir, segmentBytes: SEGMENT_BYTES });
    expect(log.recovery).toHaveLength(1);
    expect(log.recovery[0]!.reason).toMatch(/torn batch/);
    expect(log.recovery[0]!.truncatedBytes).toBeGreaterThan(0);
  });
});
