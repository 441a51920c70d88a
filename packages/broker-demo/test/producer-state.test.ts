import { expect, test } from 'vitest';
import { ProducerStateTable } from '../src/replication/producer-state.js';

test('a retried batch is found by producer id and sequence', () => {
  const table = new ProducerStateTable();
  table.record({ producerId: 7, sequence: 0, baseOffset: 10, lastOffset: 10 });
  expect(table.find(7, 0)).toEqual({ producerId: 7, sequence: 0, baseOffset: 10, lastOffset: 10 });
  expect(table.find(7, 1)).toBeUndefined();
  expect(table.find(8, 0)).toBeUndefined();
});

test("followers learn the leader's batches from the fetch response field", () => {
  const leader = new ProducerStateTable();
  leader.record({ producerId: 7, sequence: 0, baseOffset: 0, lastOffset: 1 });
  leader.record({ producerId: 9, sequence: 4, baseOffset: 2, lastOffset: 2 });
  const encoded = leader.encodeFor([0, 2, 3]);
  expect(encoded).toBe('0:1:7:0,2:2:9:4');
  const follower = new ProducerStateTable();
  follower.learn(encoded);
  expect(follower.find(9, 4)?.baseOffset).toBe(2);
});

test('truncation forgets batches at or past the cut', () => {
  const table = new ProducerStateTable();
  table.record({ producerId: 7, sequence: 0, baseOffset: 0, lastOffset: 0 });
  table.record({ producerId: 7, sequence: 1, baseOffset: 1, lastOffset: 1 });
  table.truncate(1);
  expect(table.find(7, 0)).toBeDefined();
  expect(table.find(7, 1)).toBeUndefined();
  expect(table.size).toBe(1);
});

test('malformed entries are skipped', () => {
  const table = new ProducerStateTable();
  table.learn('1:1:2:x,3:3:4:5');
  expect(table.size).toBe(1);
});
