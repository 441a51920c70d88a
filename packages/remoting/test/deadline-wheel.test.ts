/** The deadline wheel expires each entry at its own deadline (never before, within a tick after), once. */
import { expect, test } from 'vitest';
import { DeadlineEntry, DeadlineWheel } from '../src/remoting/deadline-wheel.js';

class Entry extends DeadlineEntry {
  expiredAt = -1;
  constructor(
    readonly name: string,
    readonly deadline: number,
  ) {
    super();
  }
}

/** Polls `check`; `timeoutMs` only turns a hang into a failure (generous: a loaded machine runs timers late). */
function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (performance.now() > until) reject(new Error('timed out'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

test('entries expire in deadline order, not before their deadlines; removed ones never expire', async () => {
  const expired: Entry[] = [];
  const wheel = new DeadlineWheel<Entry>((entry) => {
    entry.expiredAt = performance.now();
    expired.push(entry);
  });
  const now = performance.now();
  const late = new Entry('late', now + 60);
  const early = new Entry('early', now + 15);
  const removed = new Entry('removed', now + 30);
  const past = new Entry('past', now - 5);
  for (const entry of [late, early, removed, past]) wheel.add(entry);
  expect(wheel.size).toBe(4);
  wheel.remove(removed);
  wheel.remove(removed);
  expect(wheel.size).toBe(3);
  await waitFor(() => expired.length === 3, 60_000);
  expect(expired.map((e) => e.name)).toEqual(['past', 'early', 'late']);
  for (const entry of expired) expect(entry.expiredAt).toBeGreaterThanOrEqual(entry.deadline - 1);
  expect(removed.expiredAt).toBe(-1);
  expect(wheel.size).toBe(0);
});

test('a deadline more than one revolution (4.096 s) away waits out the revolutions in between', async () => {
  const expired: Entry[] = [];
  const wheel = new DeadlineWheel<Entry>((entry) => {
    entry.expiredAt = performance.now();
    expired.push(entry);
  });
  const now = performance.now();
  // Same slot as `soon`, one revolution later.
  const far = new Entry('far', now + 20 + 4096);
  const soon = new Entry('soon', now + 20);
  wheel.add(far);
  wheel.add(soon);
  await waitFor(() => expired.length === 1, 60_000);
  expect(expired[0]?.name).toBe('soon');
  await waitFor(() => expired.length === 2, 60_000);
  expect(expired[1]?.name).toBe('far');
  expect(far.expiredAt).toBeGreaterThanOrEqual(far.deadline - 1);
  // In its own revolution, not one later (4096 ms): generous for a loaded machine's late timers.
  expect(far.expiredAt - far.deadline).toBeLessThan(2000);
});
