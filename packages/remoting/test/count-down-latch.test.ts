/**
 * CountDownLatch: how a "synchronous" call waits without blocking the event
 * loop. It opens once its count reaches zero and wakes every waiter; a timed
 * wait resolves false when its time is up first, and leaves the others waiting.
 */
import { expect, test } from 'vitest';
import { CountDownLatch } from '../src/index.js';

test('a latch of one wakes its single waiter on countDown', async () => {
  const latch = new CountDownLatch(1);
  const waited = latch.await();
  latch.countDown();
  await expect(waited).resolves.toBe(true);
  expect(latch.getCount()).toBe(0);
});

test('every waiter wakes when the count reaches zero, not before', async () => {
  const latch = new CountDownLatch(2);
  const woken: number[] = [];
  const waits = [1, 2, 3].map((id) => latch.await().then(() => woken.push(id)));
  latch.countDown();
  await new Promise((resolve) => setImmediate(resolve));
  expect(woken).toEqual([]);
  latch.countDown();
  await Promise.all(waits);
  expect(woken).toEqual([1, 2, 3]);
});

test('a timed wait resolves false at its timeout and the other waiters still wake', async () => {
  const latch = new CountDownLatch(1);
  const untimed = latch.await();
  const timed = latch.await(20);
  await expect(timed).resolves.toBe(false);
  latch.countDown();
  await expect(untimed).resolves.toBe(true);
});

test('an open latch answers at once, and counting past zero changes nothing', async () => {
  const latch = new CountDownLatch(0);
  await expect(latch.await(1)).resolves.toBe(true);
  latch.countDown();
  expect(latch.getCount()).toBe(0);
  expect(() => new CountDownLatch(-1)).toThrow(RangeError);
});
