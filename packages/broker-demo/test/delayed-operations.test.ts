import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { type DelayedOperation, DelayedOperations } from '../src/replication/delayed-operations.js';

/*
 * The one parking place for acks=all waits and fetch long-polls (Kafka's
 * purgatory): an operation finishes when its condition holds at a check,
 * expires after its time, or is ended by completeAll, and ends exactly once.
 */

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Waits for `hw` to reach `required`: the shape of an acks=all produce. */
function untilHw(state: { hw: number }, required: number): DelayedOperation<string> {
  return {
    tryComplete: () => (state.hw >= required ? 'done' : undefined),
    onExpiration: () => 'timed out',
  };
}

test('an operation that can finish when parked does so at once, without a timer', async () => {
  const ops = new DelayedOperations<string>();
  await expect(ops.park(untilHw({ hw: 5 }, 3), 1000)).resolves.toBe('done');
  expect(ops.size).toBe(0);
  expect(vi.getTimerCount()).toBe(0);
});

test('parked operations finish at the check after their condition holds, each on its own', async () => {
  const state = { hw: 0 };
  const ops = new DelayedOperations<string>();
  const first = ops.park(untilHw(state, 3), 5000);
  const second = ops.park(untilHw(state, 5), 5000);
  state.hw = 4;
  expect(ops.size).toBe(2);
  ops.checkAll();
  await expect(first).resolves.toBe('done');
  expect(ops.size).toBe(1);
  state.hw = 5;
  ops.checkAll();
  await expect(second).resolves.toBe('done');
  expect(ops.size).toBe(0);
});

test('an operation expires with its own answer after its time, and a zero wait expires at once', async () => {
  const ops = new DelayedOperations<string>();
  const parked = ops.park(untilHw({ hw: 0 }, 3), 1000);
  vi.advanceTimersByTime(999);
  expect(ops.size).toBe(1);
  vi.advanceTimersByTime(1);
  await expect(parked).resolves.toBe('timed out');
  expect(ops.size).toBe(0);
  await expect(ops.park(untilHw({ hw: 0 }, 3), 0)).resolves.toBe('timed out');
});

test('completeAll ends every parked operation with the answer it gives (leadership lost)', async () => {
  const ops = new DelayedOperations<string>();
  const a = ops.park(untilHw({ hw: 0 }, 3), 1000);
  const b = ops.park(untilHw({ hw: 0 }, 9), 1000);
  ops.completeAll(() => 'not leader');
  await expect(Promise.all([a, b])).resolves.toEqual(['not leader', 'not leader']);
  expect(vi.getTimerCount()).toBe(0);
});

test('each operation ends exactly once, whatever comes after', async () => {
  const state = { hw: 0 };
  const ops = new DelayedOperations<string>();
  const parked = ops.park(untilHw(state, 1), 1000);
  state.hw = 1;
  ops.checkAll();
  ops.completeAll(() => 'not leader');
  vi.advanceTimersByTime(2000);
  await expect(parked).resolves.toBe('done');
  expect(vi.getTimerCount()).toBe(0);
});
