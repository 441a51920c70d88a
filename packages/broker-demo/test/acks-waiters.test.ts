import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { BrokerResponseCode } from '../src/protocol/codes.js';
import { AcksWaiters } from '../src/replication/acks-waiters.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test('an acks=all waiter completes once the HW covers its last offset', async () => {
  const waiters = new AcksWaiters();
  const first = waiters.wait(3, 5000);
  const second = waiters.wait(5, 5000);
  waiters.onHighWatermark(4);
  await expect(first).resolves.toEqual({ ok: true });
  expect(waiters.size).toBe(1);
  waiters.onHighWatermark(5);
  await expect(second).resolves.toEqual({ ok: true });
  expect(waiters.size).toBe(0);
});

test('fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks below min.insync.replicas', async () => {
  const waiters = new AcksWaiters();
  const w = waiters.wait(3, 5000);
  waiters.onIsrChanged(2, 2);
  expect(waiters.size).toBe(1);
  waiters.onIsrChanged(1, 2);
  await expect(w).resolves.toMatchObject({
    ok: false,
    responseCode: BrokerResponseCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  });
});

test('times out with REQUEST_TIMED_OUT after request.timeout.ms', async () => {
  const waiters = new AcksWaiters();
  const w = waiters.wait(3, 1000);
  vi.advanceTimersByTime(999);
  expect(waiters.size).toBe(1);
  vi.advanceTimersByTime(1);
  await expect(w).resolves.toMatchObject({ ok: false, responseCode: BrokerResponseCode.REQUEST_TIMED_OUT });
  expect(waiters.size).toBe(0);
});

test('each waiter ends exactly once', async () => {
  const waiters = new AcksWaiters();
  const w = waiters.wait(1, 1000);
  waiters.onHighWatermark(1);
  waiters.failAll(BrokerResponseCode.NOT_LEADER, 'deposed');
  vi.advanceTimersByTime(2000);
  await expect(w).resolves.toEqual({ ok: true });
  expect(vi.getTimerCount()).toBe(0);
});
