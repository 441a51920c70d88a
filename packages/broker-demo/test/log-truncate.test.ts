import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBatches, segmentFileName } from '../src/log/index.js';
import { makeRecords, openLog, readAll, segmentBases, tempDir, valueText } from './log-fixtures.js';

describe('truncateTo', () => {
  it('cuts across segment boundaries, removes whole segments, and appends continue', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, segmentBytes: 4096, indexIntervalBytes: 512 });
    for (let b = 0; b < 60; b++) await log.append(makeRecords(5, `b${b}`, 60), 0);
    const bases = await segmentBases(dir);
    expect(bases.length).toBeGreaterThan(4);
    const cut = bases[2]! + 10;

    await log.truncateTo(cut);
    expect(log.logEndOffset).toBe(cut);
    expect(await segmentBases(dir)).toEqual(bases.slice(0, 3));
    expect((await log.append(makeRecords(5, 'new'), 0)).baseOffset).toBe(cut);
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: cut + 5 }, (_, i) => i));
    expect(valueText(records[cut - 1]!)).toBe(`b${Math.floor((cut - 1) / 5)}-4`);
    expect(valueText(records[cut]!)).toBe('new-0');
    // The index must not point into the cut-off region: every offset still lands on its batch.
    for (let offset = bases[2]!; offset < log.logEndOffset; offset++) {
      const [batch] = decodeBatches((await log.read(offset, 1)).bytes);
      expect(offset - batch!.baseOffset).toBeLessThan(5);
    }
  });

  it('at a segment base removes that segment whole', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, segmentBytes: 4096 });
    for (let b = 0; b < 60; b++) await log.append(makeRecords(5, `b${b}`, 60), 0);
    const bases = await segmentBases(dir);
    await log.truncateTo(bases[3]!);
    expect(await segmentBases(dir)).toEqual(bases.slice(0, 3));
    expect(log.logEndOffset).toBe(bases[3]);
    expect((await readAll(log)).length).toBe(bases[3]);
  });

  it('drops a batch that straddles the offset whole, as Kafka does', async () => {
    const log = await openLog({ dir: await tempDir() });
    for (let b = 0; b < 4; b++) await log.append(makeRecords(10, `b${b}`), 0);
    await log.truncateTo(25);
    expect(log.logEndOffset).toBe(20);
  });

  it('to the log start empties the log; past the LEO changes nothing', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, segmentBytes: 4096 });
    for (let b = 0; b < 30; b++) await log.append(makeRecords(5, `b${b}`, 60), 0);
    await log.truncateTo(1000);
    expect(log.logEndOffset).toBe(150);
    await log.truncateTo(0);
    expect([log.logStartOffset, log.logEndOffset, log.latestEpoch()]).toEqual([0, 0, -1]);
    expect(await segmentBases(dir)).toEqual([0]);
    expect((await stat(path.join(dir, segmentFileName(0, '.log')))).size).toBe(0);
    await log.append(makeRecords(2, 'again'), 3);
    expect((await readAll(log)).map(valueText)).toEqual(['again-0', 'again-1']);
  });

  it('survives a reopen: the cut-off records stay gone', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, segmentBytes: 4096 });
    for (let b = 0; b < 30; b++) await log.append(makeRecords(5, `b${b}`, 60), 0);
    await log.truncateTo(42);
    await log.close();
    const reopened = await openLog({ dir, segmentBytes: 4096 });
    expect(reopened.logEndOffset).toBe(40);
  });

  it('waits for reads in flight and does not tear them', async () => {
    const log = await openLog({ dir: await tempDir(), segmentBytes: 4096 });
    for (let b = 0; b < 30; b++) await log.append(makeRecords(5, `b${b}`, 60), 0);
    const reads = Array.from({ length: 20 }, (_, i) => log.read(i * 7, 8192));
    const truncated = log.truncateTo(10);
    const results = await Promise.all(reads);
    for (const result of results) expect(() => decodeBatches(result.bytes)).not.toThrow();
    await truncated;
    expect(log.logEndOffset).toBe(10);
  });
});
