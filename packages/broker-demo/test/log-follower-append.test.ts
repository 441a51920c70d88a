import { describe, expect, it } from 'vitest';
import { decodeBatches, encodeBatch, LogError } from '../src/log/index.js';
import { makeRecords, openLog, readAll, tempDir, valueText } from './log-fixtures.js';

describe('appendRawBatches (follower append)', () => {
  it('copies the leader’s batches with their offsets and epochs', async () => {
    const leader = await openLog({ dir: await tempDir(), segmentBytes: 4096 });
    const follower = await openLog({ dir: await tempDir(), segmentBytes: 4096 });
    for (let b = 0; b < 30; b++) await leader.append(makeRecords(5, `b${b}`, 60), b < 10 ? 1 : 4);

    while (follower.logEndOffset < leader.logEndOffset) {
      const fetched = await leader.read(follower.logEndOffset, 3000, leader.logEndOffset);
      const appended = await follower.appendRawBatches(fetched.bytes);
      fetched.release();
      expect(appended?.lastOffset).toBe(fetched.nextOffset - 1);
    }
    const [a, b] = [await readAll(leader), await readAll(follower)];
    expect(b.map((r) => [r.offset, r.leaderEpoch, valueText(r)])).toEqual(
      a.map((r) => [r.offset, r.leaderEpoch, valueText(r)]),
    );
    expect(follower.epochEntries()).toEqual(leader.epochEntries());
    expect(follower.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 50 },
    ]);
  });

  it('rolls segments while appending a large fetch', async () => {
    const leader = await openLog({ dir: await tempDir() });
    const follower = await openLog({ dir: await tempDir(), segmentBytes: 2048 });
    for (let b = 0; b < 20; b++) await leader.append(makeRecords(5, `b${b}`, 60), 0);
    const fetched = await leader.read(0, 1 << 20);
    expect(await follower.appendRawBatches(fetched.bytes)).toEqual({ firstOffset: 0, lastOffset: 99 });
    expect((await readAll(follower)).length).toBe(100);
    expect(await follower.appendRawBatches(Buffer.alloc(0))).toBeNull();
  });

  it('refuses a CRC-corrupt batch and writes none of the fetch', async () => {
    const follower = await openLog({ dir: await tempDir() });
    const good = encodeBatch(0, 1, makeRecords(5, 'a'));
    const bad = encodeBatch(5, 1, makeRecords(5, 'b'));
    bad[bad.length - 3]! ^= 1;
    const error = await follower.appendRawBatches(Buffer.concat([good, bad])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogError);
    expect(error).toMatchObject({ code: 'LOG_CORRUPT_BATCH' });
    expect(follower.logEndOffset).toBe(0);
    expect((await follower.read(0, 1024)).bytes.length).toBe(0);
  });

  it('refuses batches that do not start at the LEO or leave a gap', async () => {
    const follower = await openLog({ dir: await tempDir() });
    await expect(follower.appendRawBatches(encodeBatch(3, 1, makeRecords(2, 'a')))).rejects.toMatchObject({
      code: 'LOG_OFFSET_MISMATCH',
    });
    const gap = Buffer.concat([
      encodeBatch(0, 1, makeRecords(2, 'a')),
      encodeBatch(3, 1, makeRecords(2, 'b')),
    ]);
    await expect(follower.appendRawBatches(gap)).rejects.toMatchObject({ code: 'LOG_OFFSET_MISMATCH' });
    expect(follower.logEndOffset).toBe(0);
  });

  it('refuses a fetch cut short', async () => {
    const follower = await openLog({ dir: await tempDir() });
    const batch = encodeBatch(0, 1, makeRecords(2, 'a'));
    await expect(follower.appendRawBatches(batch.subarray(0, batch.length - 1))).rejects.toMatchObject({
      code: 'LOG_CORRUPT_BATCH',
    });
  });

  it('does not move the epoch cache back for an older epoch', async () => {
    const follower = await openLog({ dir: await tempDir() });
    await follower.appendRawBatches(encodeBatch(0, 3, makeRecords(2, 'a')));
    await follower.appendRawBatches(encodeBatch(2, 2, makeRecords(2, 'b')));
    expect(follower.epochEntries()).toEqual([{ epoch: 3, startOffset: 0 }]);
    expect(decodeBatches((await follower.read(2, 100)).bytes)[0]!.leaderEpoch).toBe(2);
  });
});
