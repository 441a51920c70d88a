import { crc32 } from 'node:zlib';
import { expect, test } from 'vitest';
import { decodeBatches } from '../src/log/index.js';
import { BATCH_HEADER_BYTES, NO_PRODUCER_ID, NO_SEQUENCE } from '../src/log/record-batch.js';
import {
  BatchBuilder,
  encodeProducerBatch,
  forEachValue,
  RecordsFormatError,
  setBatchProducer,
  stampBatch,
  validateProducedBatch,
} from '../src/protocol/records-codec.js';

const records = [
  { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1700000000123 },
  { key: null, value: Buffer.alloc(0), timestamp: 0 },
];

test('a producer batch is a log batch: once stamped, the log decodes it with offsets and epoch', () => {
  const batch = encodeProducerBatch(records);
  expect(validateProducedBatch(batch)).toMatchObject({ recordCount: 2, sizeInBytes: batch.length });
  stampBatch(batch, 40, 3);
  // The stamp sits outside the CRC: the batch is still valid.
  validateProducedBatch(batch);
  const [decoded] = decodeBatches(batch);
  expect(decoded).toMatchObject({ baseOffset: 40, lastOffset: 41, leaderEpoch: 3 });
  expect(decoded!.records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp }))).toEqual(
    records,
  );
});

test('the builder fills up to its capacity and reports when a record no longer fits', () => {
  const builder = new BatchBuilder(BATCH_HEADER_BYTES + 3 * (20 + 10));
  const value = Buffer.alloc(10);
  let added = 0;
  while (builder.hasRoomFor(20 + value.length)) {
    builder.append(null, value, 1);
    added++;
  }
  expect(added).toBe(3);
  expect(decodeBatches(builder.build())[0]!.records).toHaveLength(3);
});

test('a truncated body, a flipped byte, a bad record length or two batches are typed errors', () => {
  const batch = encodeProducerBatch(records);
  expect(() => validateProducedBatch(batch.subarray(0, batch.length - 2))).toThrow(RecordsFormatError);
  const flipped = Buffer.from(batch);
  flipped[flipped.length - 1]! ^= 0xff;
  expect(() => validateProducedBatch(flipped)).toThrow(/CRC/);
  expect(() => validateProducedBatch(Buffer.concat([batch, batch]))).toThrow(/one batch per request/);
  expect(() => validateProducedBatch(Buffer.alloc(3))).toThrow(RecordsFormatError);
});

test('a record layout that overruns its batch is refused even with a correct CRC', () => {
  // A value length far past the end, with the CRC recomputed over the lie.
  const builder = new BatchBuilder(100);
  builder.append(null, Buffer.from('abc'), 1);
  const batch = builder.build();
  batch.writeInt32BE(1000, BATCH_HEADER_BYTES + 16);
  batch.writeUInt32BE(crc32(batch.subarray(20)), 16);
  expect(() => validateProducedBatch(batch)).toThrow(/value length 1000/);
});

test('forEachValue visits every value of a batch in place, keys of any length skipped', () => {
  const batch = encodeProducerBatch([
    { key: Buffer.from('key-1'), value: Buffer.from('first'), timestamp: 1 },
    { key: null, value: Buffer.alloc(0), timestamp: 2 },
    { key: Buffer.alloc(0), value: Buffer.from('third'), timestamp: 3 },
  ]);
  const framed = Buffer.concat([Buffer.from('xx'), batch]);
  const seen: string[] = [];
  forEachValue(framed, 2, (bytes, start, length) => seen.push(bytes.toString('utf8', start, start + length)));
  expect(seen).toEqual(['first', '', 'third']);
});

test("an idempotent producer's id and base sequence are in the batch, inside the CRC", () => {
  const batch = encodeProducerBatch(records, { producerId: 2 ** 40 + 7, sequence: 12 });
  expect(validateProducedBatch(batch)).toMatchObject({ producerId: 2 ** 40 + 7, baseSequence: 12 });
  expect(validateProducedBatch(encodeProducerBatch(records))).toMatchObject({
    producerId: NO_PRODUCER_ID,
    baseSequence: NO_SEQUENCE,
  });
  // A producer starting over renumbers a built batch: the CRC follows.
  setBatchProducer(batch, { producerId: 99, sequence: 0 });
  expect(validateProducedBatch(batch)).toMatchObject({ producerId: 99, baseSequence: 0 });
  // Damage to the fields is caught like damage to a record.
  const damaged = Buffer.from(batch);
  damaged[BATCH_HEADER_BYTES - 1]! ^= 0x01;
  expect(() => validateProducedBatch(damaged)).toThrow(/CRC/);
  // A producer id without a sequence is no batch any producer sends.
  const half = encodeProducerBatch(records, { producerId: 5, sequence: 0 });
  setBatchProducer(half, { producerId: 5, sequence: NO_SEQUENCE });
  expect(() => validateProducedBatch(half)).toThrow(/producer id 5 with base sequence -1/);
});
