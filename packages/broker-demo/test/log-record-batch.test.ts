import { describe, expect, it } from 'vitest';
import { checkBatch, decodeBatches, encodeBatch, LogError } from '../src/log/index.js';
import { makeRecords } from './log-fixtures.js';

describe('record batch codec', () => {
  it('round-trips offsets, epoch, keys (null too), values and timestamps', () => {
    const records = makeRecords(5, 'r');
    const bytes = encodeBatch(2 ** 40, 7, records);
    const [batch, ...rest] = decodeBatches(bytes);
    expect(rest).toEqual([]);
    expect(batch).toMatchObject({ baseOffset: 2 ** 40, lastOffset: 2 ** 40 + 4, leaderEpoch: 7 });
    expect(batch!.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4].map((i) => 2 ** 40 + i));
    batch!.records.forEach((record, i) => {
      expect(record.key).toEqual(records[i]!.key);
      expect(record.value).toEqual(records[i]!.value);
      expect(record.timestamp).toBe(records[i]!.timestamp);
      expect(record.leaderEpoch).toBe(7);
    });
  });

  it('decodes several batches laid end to end', () => {
    const bytes = Buffer.concat([
      encodeBatch(0, 1, makeRecords(2, 'a')),
      encodeBatch(2, 1, makeRecords(3, 'b')),
    ]);
    expect(decodeBatches(bytes).map((b) => [b.baseOffset, b.lastOffset])).toEqual([
      [0, 1],
      [2, 4],
    ]);
  });

  it('notices any flipped byte after the CRC field', () => {
    const clean = encodeBatch(0, 1, makeRecords(3, 'x', 16));
    for (let pos = 20; pos < clean.length; pos += 7) {
      const damaged = Buffer.from(clean);
      damaged[pos]! ^= 0x40;
      expect(checkBatch(damaged, 0).status, `byte ${pos}`).toBe('corrupt');
    }
  });

  it('tells a short read from damage, and calls an absurd length corrupt', () => {
    const bytes = encodeBatch(0, 1, makeRecords(2, 'x'));
    expect(checkBatch(bytes.subarray(0, bytes.length - 1), 0)).toEqual({
      status: 'incomplete',
      needBytes: bytes.length,
    });
    const huge = Buffer.from(bytes);
    huge.writeInt32BE(0x7fffffff, 8);
    expect(checkBatch(huge, 0).status).toBe('corrupt');
    expect(() => decodeBatches(bytes.subarray(0, 40))).toThrow(LogError);
  });

  it('refuses an empty batch', () => {
    expect(() => encodeBatch(0, 0, [])).toThrow(expect.objectContaining({ code: 'LOG_INVALID_ARGUMENT' }));
  });
});
