import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEADER_EPOCH_CHECKPOINT, type PartitionLog } from '../src/log/index.js';
import { makeRecords, openLog, readAll, tempDir, valueText } from './log-fixtures.js';

/** Epoch 0: offsets 0-9, epoch 2: 10-24, epoch 5: 25-29. */
async function multiEpochLog(dir: string): Promise<PartitionLog> {
  const log = await openLog({ dir, segmentBytes: 2048 });
  await log.append(makeRecords(10, 'e0'), 0);
  await log.append(makeRecords(5, 'e2a'), 2);
  await log.append(makeRecords(10, 'e2b'), 2);
  await log.append(makeRecords(5, 'e5'), 5);
  return log;
}

function answers(log: PartitionLog, epochs: number[]): Array<[number, number]> {
  return epochs.map((epoch) => {
    const { epoch: found, endOffset } = log.endOffsetForEpoch(epoch);
    return [found, endOffset];
  });
}

describe('leader epoch cache (KIP-101)', () => {
  it('answers OffsetsForLeaderEpoch in a multi-epoch log', async () => {
    const log = await multiEpochLog(await tempDir());
    expect(log.latestEpoch()).toBe(5);
    expect(log.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
      { epoch: 5, startOffset: 25 },
    ]);
    expect(answers(log, [0, 1, 2, 3, 4, 5, 6, -1])).toEqual([
      [0, 10],
      [0, 10],
      [2, 25],
      [2, 25],
      [2, 25],
      [5, 30],
      [-1, -1],
      [-1, -1],
    ]);
  });

  it('answers for an epoch below the first with the first epoch’s start, and -1 when empty', async () => {
    const log = await openLog({ dir: await tempDir() });
    expect(log.latestEpoch()).toBe(-1);
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    await log.append(makeRecords(3, 'x'), 4);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 0 });
  });

  it('survives a reopen, ignoring a half-written temp file', async () => {
    const dir = await tempDir();
    const log = await multiEpochLog(dir);
    const before = answers(log, [0, 1, 2, 5, 6]);
    await log.close();
    await writeFile(path.join(dir, `${LEADER_EPOCH_CHECKPOINT}.tmp`), '0\n7\n1 2');
    const reopened = await openLog({ dir, segmentBytes: 2048 });
    expect(answers(reopened, [0, 1, 2, 5, 6])).toEqual(before);
    expect(reopened.latestEpoch()).toBe(5);
  });

  it('is truncated by truncateTo, on disk too', async () => {
    const dir = await tempDir();
    const log = await multiEpochLog(dir);
    await log.truncateTo(15);
    expect(log.latestEpoch()).toBe(2);
    expect(answers(log, [2, 5])).toEqual([
      [2, 15],
      [-1, -1],
    ]);
    await log.truncateTo(10);
    expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    await log.close();
    const reopened = await openLog({ dir, segmentBytes: 2048 });
    expect(reopened.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    await reopened.append(makeRecords(1, 'e6'), 6);
    expect(reopened.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 10 });
  });

  it('refuses a leader append with an epoch older than the latest', async () => {
    const log = await multiEpochLog(await tempDir());
    await expect(log.append(makeRecords(1, 'old'), 4)).rejects.toMatchObject({ code: 'LOG_STALE_EPOCH' });
    expect(log.logEndOffset).toBe(30);
  });

  it('assignLeaderEpoch records a new leader’s epoch before its first append', async () => {
    const log = await multiEpochLog(await tempDir());
    await log.assignLeaderEpoch(7);
    expect(answers(log, [5, 7])).toEqual([
      [5, 30],
      [7, 30],
    ]);
    await log.append(makeRecords(2, 'e7'), 7);
    expect(log.epochEntries().at(-1)).toEqual({ epoch: 7, startOffset: 30 });
    expect(log.epochEntries()).toHaveLength(4);
  });

  it('lets a returning replica drop what the new leader never had (KIP-101)', async () => {
    // Both replicas share 0-9 from epoch 1; the old leader also wrote 10-14 that never replicated.
    const oldLeader = await openLog({ dir: await tempDir() });
    const newLeader = await openLog({ dir: await tempDir() });
    await oldLeader.append(makeRecords(10, 'shared'), 1);
    await newLeader.appendRawBatches((await oldLeader.read(0, 1 << 20)).bytes);
    await oldLeader.append(makeRecords(5, 'lost'), 1);
    await newLeader.assignLeaderEpoch(2);
    await newLeader.append(makeRecords(8, 'new'), 2);

    const { endOffset } = newLeader.endOffsetForEpoch(oldLeader.latestEpoch());
    expect(endOffset).toBe(10);
    await oldLeader.truncateTo(Math.min(endOffset, oldLeader.logEndOffset));
    const fetched = await newLeader.read(oldLeader.logEndOffset, 1 << 20);
    await oldLeader.appendRawBatches(fetched.bytes);

    const values = (await readAll(oldLeader)).map(valueText);
    expect(values).toEqual((await readAll(newLeader)).map(valueText));
    expect(values.some((v) => v.startsWith('lost'))).toBe(false);
    expect(oldLeader.epochEntries()).toEqual(newLeader.epochEntries());
  });
});
