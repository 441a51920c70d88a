import { expect, test } from 'vitest';
import { ProducerStateTable } from '../src/replication/producer-state.js';

test('a retried batch is found by producer id and sequence', () => {
  const table = new ProducerStateTable();
  table.record({ producerId: 7, sequence: 0, baseOffset: 10, lastOffset: 10 });
  expect(table.find(7, 0)).toEqual({ producerId: 7, sequence: 0, baseOffset: 10, lastOffset: 10 });
  expect(table.find(7, 1)).toBeUndefined();
  expect(table.find(8, 0)).toBeUndefined();
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
