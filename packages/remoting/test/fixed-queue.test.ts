/** The FIFO shared by permits, executors and writability waiters keeps order across its fixed rings. */
import { expect, test } from 'vitest';
import { FixedQueue } from '../src/util/fixed-queue.js';

test('keeps FIFO order across many rings, interleaving pushes and shifts, and empties cleanly', () => {
  const queue = new FixedQueue<number>();
  expect(queue.shift()).toBeUndefined();
  let next = 0;
  let expected = 0;
  // Grow past several 2048-slot rings, drain part, grow again, then drain all.
  for (const [pushes, shifts] of [
    [5000, 1200],
    [3000, 6000],
    [10, 10],
    [4097, 4897],
  ] as const) {
    for (let i = 0; i < pushes; i++) queue.push(next++);
    for (let i = 0; i < shifts; i++) expect(queue.shift()).toBe(expected++);
    expect(queue.length).toBe(next - expected);
  }
  expect(queue.length).toBe(0);
  expect(queue.shift()).toBeUndefined();
  queue.push(42);
  expect(queue.shift()).toBe(42);
});
