import { open, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEADER_EPOCH_CHECKPOINT, PartitionLog, segmentFileName } from '../src/log/index.js';
import { makeRecords, openLog, readAll, segmentBases, tempDir, valueText } from './log-fixtures.js';

/** A log of `batches` batches of 10 records, closed, with the byte size of each batch. */
async function writeLog(dir: string, batches: number, segmentBytes = 1 << 20): Promise<number[]> {
  const log = await PartitionLog.open({ dir, segmentBytes, indexIntervalBytes: 1024 });
  const sizes: number[] = [];
  for (let b = 0; b < batches; b++) {
    const before = await totalLogBytes(dir);
    await log.append(makeRecords(10, `b${b}`), b < 5 ? 1 : 2);
    sizes.push((await totalLogBytes(dir)) - before);
  }
  await log.close();
  return sizes;
}

async function totalLogBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir))
    if (name.endsWith('.log')) total += (await stat(path.join(dir, name))).size;
  return total;
}

async function flipByte(file: string, position: number): Promise<void> {
  const handle = await open(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, position);
  byte[0]! ^= 0xff;
  await handle.write(byte, 0, 1, position);
  await handle.close();
}

const logFile = (dir: string, base = 0) => path.join(dir, segmentFileName(base, '.log'));
const indexFile = (dir: string, base = 0) => path.join(dir, segmentFileName(base, '.index'));

describe('recovery on open', () => {
  it('drops a torn tail, truncates the file there, and appends carry on', async () => {
    const dir = await tempDir();
    const sizes = await writeLog(dir, 8);
    const whole = sizes.slice(0, 7).reduce((a, b) => a + b, 0);
    await truncate(logFile(dir), whole + 50);

    const log = await openLog({ dir });
    expect(log.logEndOffset).toBe(70);
    expect((await stat(logFile(dir))).size).toBe(whole);
    expect(await log.append(makeRecords(10, 'after'), 2)).toEqual({ baseOffset: 70, lastOffset: 79 });
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(valueText(records[69]!)).toBe('b6-9');
    expect(valueText(records[70]!)).toBe('after-0');
  });

  it('drops a tail cut inside the first 12 bytes of a batch', async () => {
    const dir = await tempDir();
    const sizes = await writeLog(dir, 3);
    await truncate(logFile(dir), sizes[0]! + sizes[1]! + 5);
    const log = await openLog({ dir });
    expect(log.logEndOffset).toBe(20);
  });

  it('drops the last batch when one of its bytes is corrupt (CRC)', async () => {
    const dir = await tempDir();
    const sizes = await writeLog(dir, 8);
    const total = sizes.reduce((a, b) => a + b, 0);
    await flipByte(logFile(dir), total - 40);

    const log = await openLog({ dir });
    expect(log.logEndOffset).toBe(70);
    expect((await stat(logFile(dir))).size).toBe(total - sizes[7]!);
    expect((await readAll(log)).length).toBe(70);
  });

  it('drops everything from a corrupt batch in the middle of the last segment', async () => {
    const dir = await tempDir();
    const sizes = await writeLog(dir, 8);
    await flipByte(logFile(dir), sizes[0]! + sizes[1]! + 100);
    const log = await openLog({ dir });
    expect(log.logEndOffset).toBe(20);
    expect(log.latestEpoch()).toBe(1);
  });

  it('rebuilds deleted indexes, and reads through them stay right', async () => {
    const dir = await tempDir();
    await writeLog(dir, 40, 8 * 1024);
    const bases = await segmentBases(dir);
    expect(bases.length).toBeGreaterThan(3);
    const indexSizes = await Promise.all(bases.map(async (base) => (await stat(indexFile(dir, base))).size));
    for (const base of bases) await unlink(indexFile(dir, base));

    const log = await openLog({ dir, segmentBytes: 8 * 1024, indexIntervalBytes: 1024 });
    expect(log.logEndOffset).toBe(400);
    for (const [i, base] of bases.entries()) {
      expect((await stat(indexFile(dir, base))).size, `index of ${base}`).toBe(indexSizes[i]);
    }
    expect((await readAll(log, 0, 400, 3000)).map((r) => r.offset)).toEqual(
      Array.from({ length: 400 }, (_, i) => i),
    );
    for (const offset of [0, 55, 123, 399]) {
      const result = await log.read(offset, 1);
      expect(result.bytes.readUInt32BE(4)).toBe(Math.floor(offset / 10) * 10);
    }
  });

  it('rebuilds an index full of garbage', async () => {
    const dir = await tempDir();
    await writeLog(dir, 40, 8 * 1024);
    await writeFile(indexFile(dir, 0), Buffer.from('this is not an index, not at all'));
    const log = await openLog({ dir, segmentBytes: 8 * 1024, indexIntervalBytes: 1024 });
    expect((await readAll(log)).length).toBe(400);
    expect((await stat(indexFile(dir, 0))).size % 8).toBe(0);
  });

  it('ends the log at a damaged earlier segment that had to be rescanned', async () => {
    const dir = await tempDir();
    await writeLog(dir, 40, 8 * 1024);
    const bases = await segmentBases(dir);
    await unlink(indexFile(dir, bases[1]));
    await flipByte(logFile(dir, bases[1]), 3000);

    const log = await openLog({ dir, segmentBytes: 8 * 1024 });
    expect(await segmentBases(dir)).toEqual(bases.slice(0, 2));
    expect(log.logEndOffset).toBeLessThan(bases[2]!);
    expect(log.logEndOffset).toBeGreaterThan(bases[1]!);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(
      Array.from({ length: log.logEndOffset }, (_, i) => i),
    );
    expect((await log.append(makeRecords(1, 'next'), 2)).baseOffset).toBe(log.logEndOffset - 1);
  });

  it('rebuilds a lost epoch checkpoint from the batches', async () => {
    const dir = await tempDir();
    await writeLog(dir, 10, 4096);
    await unlink(path.join(dir, LEADER_EPOCH_CHECKPOINT));
    const log = await openLog({ dir, segmentBytes: 4096 });
    expect(log.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 50 },
    ]);
  });

  it('opens an empty directory, and one that does not exist yet', async () => {
    const dir = path.join(await tempDir(), 'a', 'b');
    const log = await openLog({ dir });
    expect([log.logStartOffset, log.logEndOffset, log.latestEpoch()]).toEqual([0, 0, -1]);
    expect(await segmentBases(dir)).toEqual([0]);
  });
});
