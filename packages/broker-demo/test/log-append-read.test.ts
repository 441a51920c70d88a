import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BufferPool, decodeBatches } from '../src/log/index.js';
import { BATCH_HEADER_BYTES } from '../src/log/record-batch.js';
import { makeRecords, openLog, readAll, segmentBases, tempDir, valueText } from './log-fixtures.js';

describe('append and read', () => {
  it('round-trips many batches in offset order', async () => {
    const log = await openLog({ dir: await tempDir() });
    for (let b = 0; b < 50; b++) {
      const result = await log.append(makeRecords(10, `b${b}`), 0);
      expect(result).toEqual({ baseOffset: b * 10, lastOffset: b * 10 + 9 });
    }
    expect(log.logEndOffset).toBe(500);
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(records.map(valueText).slice(0, 12)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `b0-${i}`),
      'b1-0',
      'b1-1',
    ]);
    expect(records[3]!.key).toBeNull();
    expect(records[4]!.key?.toString()).toBe('k4');
  });

  it('rolls segments by size and keeps offsets continuous across them', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, segmentBytes: 8 * 1024, indexIntervalBytes: 1024 });
    const batchBytes = encodedSize(20, 128);
    for (let b = 0; b < 30; b++) await log.append(makeRecords(20, `b${b}`), 0);
    const bases = await segmentBases(dir);
    const batchesPerSegment = Math.floor((8 * 1024) / batchBytes);
    expect(bases).toEqual(
      Array.from({ length: Math.ceil(30 / batchesPerSegment) }, (_, i) => i * batchesPerSegment * 20),
    );
    const files = await readdir(dir);
    for (const base of bases) expect(files).toContain(`${String(base).padStart(20, '0')}.index`);
    expect(files).toContain('00000000000000000000.log');
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 600 }, (_, i) => i));
  });

  it('finds the batch holding any offset through the index, in every segment', async () => {
    const dir = await tempDir();
    // Small batches of uneven size and a small interval make many index entries per segment.
    const log = await openLog({ dir, segmentBytes: 8 * 1024, indexIntervalBytes: 512 });
    const starts: number[] = [];
    for (let b = 0; b < 200; b++)
      starts.push((await log.append(makeRecords(1 + (b % 5), `b${b}`, 40), 0)).baseOffset);
    expect((await segmentBases(dir)).length).toBeGreaterThan(3);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      const result = await log.read(offset, 1);
      const [batch, ...more] = decodeBatches(result.bytes);
      expect(more, 'maxBytes 1 still returns exactly one batch').toEqual([]);
      expect(batch!.baseOffset).toBe(starts.filter((s) => s <= offset).at(-1));
      expect(batch!.baseOffset <= offset && offset <= batch!.lastOffset).toBe(true);
      expect(result.nextOffset).toBe(batch!.lastOffset + 1);
      result.release();
    }
  });

  it('never returns a batch holding an offset at or past maxOffset', async () => {
    const log = await openLog({ dir: await tempDir(), indexIntervalBytes: 256 });
    for (let b = 0; b < 40; b++) await log.append(makeRecords(4, `b${b}`, 30), 0);
    for (const maxOffset of [0, 1, 4, 5, 37, 40, 41, 100, 159, 160, 1000]) {
      for (const from of [0, 3, 4, 36, 101]) {
        const result = await log.read(from, 1 << 20, maxOffset);
        const firstBase = Math.floor(from / 4) * 4;
        const expected: number[] = [];
        for (let base = firstBase; base + 3 < Math.min(maxOffset, 160); base += 4) expected.push(base);
        const batches = decodeBatches(result.bytes);
        expect(
          batches.map((batch) => batch.baseOffset),
          `from ${from} below ${maxOffset}`,
        ).toEqual(expected);
        expect(result.nextOffset).toBe(expected.length > 0 ? expected.at(-1)! + 4 : from);
      }
    }
  });

  it('stops at maxOffset across segments too', async () => {
    const log = await openLog({ dir: await tempDir(), segmentBytes: 2048, indexIntervalBytes: 256 });
    for (let b = 0; b < 40; b++) await log.append(makeRecords(4, `b${b}`, 30), 0);
    const records = await readAll(log, 0, 102);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('returns about maxBytes, whole batches only', async () => {
    const log = await openLog({ dir: await tempDir() });
    for (let b = 0; b < 20; b++) await log.append(makeRecords(10, `b${b}`), 0);
    const batchBytes = encodedSize(10, 128);
    const result = await log.read(0, batchBytes * 3 + 10);
    expect(result.bytes.length).toBe(batchBytes * 3);
    expect(result.nextOffset).toBe(30);
  });

  it('answers an empty read at the LEO and refuses offsets outside the log', async () => {
    const log = await openLog({ dir: await tempDir() });
    const empty = await log.read(0, 1024);
    expect(empty.bytes.length).toBe(0);
    expect(empty.nextOffset).toBe(0);
    await log.append(makeRecords(3, 'x'), 0);
    expect((await log.read(3, 1024)).bytes.length).toBe(0);
    await expect(log.read(4, 1024)).rejects.toMatchObject({ code: 'LOG_OFFSET_OUT_OF_RANGE' });
    await expect(log.read(-1, 1024)).rejects.toMatchObject({ code: 'LOG_OFFSET_OUT_OF_RANGE' });
  });

  it('reuses a released read buffer and never one still held', async () => {
    const pool = new BufferPool();
    const log = await openLog({ dir: await tempDir(), bufferPool: pool });
    for (let b = 0; b < 10; b++) await log.append(makeRecords(10, `b${b}`), 0);
    const held = await log.read(0, 4096);
    const heldCopy = Buffer.from(held.bytes);
    const first = await log.read(50, 4096);
    expect(first.bytes.buffer).not.toBe(held.bytes.buffer);
    first.release();
    first.release();
    expect(pool.pooledCount).toBe(1);
    const second = await log.read(60, 4096);
    expect(second.bytes.buffer, 'the released buffer is reused').toBe(first.bytes.buffer);
    expect(pool.pooledCount).toBe(0);
    expect(held.bytes.equals(heldCopy), 'a held buffer is never overwritten').toBe(true);
  });

  it('gives concurrent appends continuous offsets in call order', async () => {
    const log = await openLog({ dir: await tempDir(), segmentBytes: 4096 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, b) => log.append(makeRecords(3, `b${b}`), 0)),
    );
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 40 }, (_, b) => b * 3));
    const records = await readAll(log);
    expect(records.map(valueText).filter((v) => v.endsWith('-0'))).toEqual(
      Array.from({ length: 40 }, (_, b) => `b${b}-0`),
    );
  });

  it('serves whole batches to reads racing appends', async () => {
    const log = await openLog({ dir: await tempDir(), segmentBytes: 8192 });
    const appends = Array.from({ length: 60 }, (_, b) => log.append(makeRecords(5, `b${b}`), 0));
    let offset = 0;
    while (offset < 300) {
      const result = await log.read(offset, 2048);
      const batches = decodeBatches(result.bytes);
      if (batches.length > 0) expect(batches[0]!.baseOffset).toBe(offset);
      expect(batches.reduce((n, batch) => n + batch.records.length, 0)).toBe(result.nextOffset - offset);
      offset = result.nextOffset;
      result.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
  });
});

/** Bytes of a batch of `count` records made by makeRecords(count, tag, size) with a short tag. */
function encodedSize(count: number, size: number): number {
  let bytes = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) bytes += 20 + size + (i % 3 === 0 ? 0 : `k${i}`.length);
  return bytes;
}
