import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import {
  type DelayedOperation,
  DelayedOperations,
  DelayedOperationTimer,
} from '../src/replication/delayed-operations.js';

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

test('every purgatory of a broker shares one timer: one Node timer however many operations are parked', async () => {
  const timer = new DelayedOperationTimer();
  const produces = new DelayedOperations<string>(timer);
  const fetches = new DelayedOperations<string>(timer);
  const expired: string[] = [];
  const park = (ops: DelayedOperations<string>, name: string, ms: number) =>
    ops.park({ tryComplete: () => undefined, onExpiration: () => name }, ms).then((n) => expired.push(n));
  const all = [
    park(produces, 'produce 300', 300),
    park(fetches, 'fetch 100', 100),
    park(fetches, 'fetch 200', 200),
    park(produces, 'produce 100', 100),
  ];
  expect(timer.size).toBe(4);
  expect(vi.getTimerCount()).toBe(1);
  await vi.advanceTimersByTimeAsync(100);
  // Due together: in the order they were parked.
  expect(expired).toEqual(['fetch 100', 'produce 100']);
  await vi.advanceTimersByTimeAsync(200);
  await Promise.all(all);
  expect(expired).toEqual(['fetch 100', 'produce 100', 'fetch 200', 'produce 300']);
  expect(timer.size).toBe(0);
  expect(vi.getTimerCount()).toBe(0);
});

test('an operation that finishes early cancels its deadline; the last one gone disarms the timer', async () => {
  const timer = new DelayedOperationTimer();
  const ops = new DelayedOperations<string>(timer);
  const state = { hw: 0 };
  const early = ops.park(untilHw(state, 1), 100);
  const late = ops.park(untilHw(state, 5), 10_000);
  state.hw = 1;
  ops.checkAll();
  await expect(early).resolves.toBe('done');
  expect(timer.size).toBe(1);
  // The cancelled 100 ms deadline runs nothing.
  await vi.advanceTimersByTimeAsync(5000);
  expect(ops.size).toBe(1);
  ops.completeAll(() => 'not leader');
  await expect(late).resolves.toBe('not leader');
  expect(timer.size).toBe(0);
  expect(vi.getTimerCount()).toBe(0);
});
