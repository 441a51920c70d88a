import { expect, test } from 'vitest';
import { decodeRecords, encodeRecords, RecordsFormatError } from '../src/protocol/records-codec.js';

test('produce records round-trip, null keys included', () => {
  const records = [
    { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1700000000123 },
    { key: null, value: Buffer.alloc(0), timestamp: 0 },
  ];
  expect(decodeRecords(encodeRecords(records))).toEqual(records);
});

test('a truncated body is a typed error', () => {
  const bytes = encodeRecords([{ key: Buffer.from('k'), value: Buffer.from('value'), timestamp: 1 }]);
  expect(() => decodeRecords(bytes.subarray(0, bytes.length - 2))).toThrow(RecordsFormatError);
});
