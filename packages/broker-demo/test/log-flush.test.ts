import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PartitionLog } from '../src/log/index.js';
import { makeRecords, openLog, tempDir } from './log-fixtures.js';

/** Counts fsync and fdatasync calls on every FileHandle, letting them through. */
async function countSyncs(dir: string): Promise<() => number> {
  const probe = await open(path.join(dir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = vi.spyOn(prototype, 'sync');
  const datasync = vi.spyOn(prototype, 'datasync');
  return () => sync.mock.calls.length + datasync.mock.calls.length;
}

/** Polls on real immediates (not faked) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('flush policy', () => {
  it('every-append syncs before each append resolves', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir });
    await log.append(makeRecords(1, 'first'), 0);
    const syncs = await countSyncs(dir);
    for (let i = 0; i < 5; i++) await log.append(makeRecords(1, `x${i}`), 0);
    expect(syncs()).toBe(5);
  });

  it('interval mode leaves appends unsynced and syncs on the timer', async () => {
    // Only the interval is faked, so the test decides when the timer fires; file I/O stays real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const dir = await tempDir();
    const log = await openLog({ dir, flush: { mode: 'interval', intervalMs: 1000 } });
    await log.append(makeRecords(1, 'first'), 0);
    const syncs = await countSyncs(dir);
    for (let i = 0; i < 5; i++) await log.append(makeRecords(1, `x${i}`), 0);
    expect(syncs()).toBe(0);
    vi.advanceTimersByTime(1000);
    await until(() => syncs() > 0);
    const afterTimer = syncs();
    vi.advanceTimersByTime(3000);
    await log.flush();
    expect(syncs(), 'nothing new to sync, so no more syncs').toBe(afterTimer);
  });

  it('interval mode syncs on close, and the log is whole after reopening', async () => {
    const dir = await tempDir();
    const log = await PartitionLog.open({ dir, flush: { mode: 'interval', intervalMs: 60_000 } });
    await log.append(makeRecords(1, 'first'), 0);
    const syncs = await countSyncs(dir);
    for (let i = 0; i < 5; i++) await log.append(makeRecords(10, `x${i}`), 0);
    expect(syncs()).toBe(0);
    await log.close();
    expect(syncs()).toBeGreaterThan(0);
    await log.close();
    await expect(log.append(makeRecords(1, 'late'), 0)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    await expect(log.read(0, 100)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    const reopened = await openLog({ dir });
    expect(reopened.logEndOffset).toBe(51);
  });

  it('an explicit flush syncs pending appends', async () => {
    const dir = await tempDir();
    const log = await openLog({ dir, flush: { mode: 'interval', intervalMs: 60_000 } });
    await log.append(makeRecords(1, 'first'), 0);
    const syncs = await countSyncs(dir);
    await log.append(makeRecords(1, 'second'), 0);
    await log.flush();
    expect(syncs()).toBeGreaterThan(0);
  });

  it('refuses a nonsense configuration', async () => {
    const dir = await tempDir();
    await expect(PartitionLog.open({ dir, segmentBytes: 0 })).rejects.toMatchObject({
      code: 'LOG_INVALID_ARGUMENT',
    });
    await expect(
      PartitionLog.open({ dir, flush: { mode: 'interval', intervalMs: -5 } }),
    ).rejects.toMatchObject({
      code: 'LOG_INVALID_ARGUMENT',
    });
  });
});
