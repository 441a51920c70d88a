/**
 * The rule a ServerCluster replaces dead workers by: at most maxRestarts
 * within a sliding window over all slots, each slot's wait doubling with its
 * replacements in the window. Time is an argument; no timers, no processes.
 */
import { describe, expect, test } from 'vitest';
import { RestartPolicy } from '../src/cluster/restart-policy.js';

describe('RestartPolicy', () => {
  test('a slot’s wait doubles with each replacement in the window, up to maxDelayMs', () => {
    const policy = new RestartPolicy({ maxRestarts: 100, initialDelayMs: 100, maxDelayMs: 1000 });
    const delays = Array.from({ length: 6 }, (_, i) => policy.onWorkerDied(0, i));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000].map((delayMs) => ({ restart: true, delayMs })));
  });

  test('slots back off on their own: one slot’s crash loop does not slow another’s first replacement', () => {
    const policy = new RestartPolicy({ initialDelayMs: 50 });
    policy.onWorkerDied(0, 0);
    policy.onWorkerDied(0, 1);
    expect(policy.onWorkerDied(1, 2)).toEqual({ restart: true, delayMs: 50 });
  });

  test('past maxRestarts within the window (over all slots) it gives up, and says the counts', () => {
    const policy = new RestartPolicy({ maxRestarts: 3, windowMs: 10_000 });
    expect(policy.onWorkerDied(0, 0).restart).toBe(true);
    expect(policy.onWorkerDied(1, 1000).restart).toBe(true);
    expect(policy.onWorkerDied(2, 2000).restart).toBe(true);
    expect(policy.onWorkerDied(0, 3000)).toEqual({
      restart: false,
      restartsInWindow: 3,
      maxRestarts: 3,
      windowMs: 10_000,
    });
  });

  test('replacements older than the window are forgotten: the count and the back-off start over', () => {
    const policy = new RestartPolicy({ maxRestarts: 2, windowMs: 10_000, initialDelayMs: 100 });
    policy.onWorkerDied(0, 0);
    policy.onWorkerDied(0, 5000);
    expect(policy.onWorkerDied(0, 9999).restart).toBe(false);
    // At 10 000 the first replacement has left the window; the one at 5000 still doubles the wait.
    expect(policy.onWorkerDied(0, 10_000)).toEqual({ restart: true, delayMs: 200 });
    // By 25 000 both earlier ones have left it: the wait starts over.
    expect(policy.onWorkerDied(0, 25_000)).toEqual({ restart: true, delayMs: 100 });
  });

  test('maxRestarts 0: the first death stops the cluster', () => {
    expect(new RestartPolicy({ maxRestarts: 0 }).onWorkerDied(0, 0).restart).toBe(false);
  });

  test('the defaults: 10 replacements a minute, 100 ms doubling to 10 s', () => {
    const policy = new RestartPolicy();
    const decisions = Array.from({ length: 11 }, (_, i) => policy.onWorkerDied(0, i));
    expect(decisions.slice(0, 10).map((d) => (d.restart ? d.delayMs : null))).toEqual([
      100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000,
    ]);
    expect(decisions[10]).toEqual({
      restart: false,
      restartsInWindow: 10,
      maxRestarts: 10,
      windowMs: 60_000,
    });
  });

  test('a bad setting is refused with its name', () => {
    expect(() => new RestartPolicy({ maxRestarts: -1 })).toThrow(
      /restart\.maxRestarts must be an integer ≥ 0, got -1/,
    );
    expect(() => new RestartPolicy({ initialDelayMs: 1.5 })).toThrow(/restart\.initialDelayMs/);
  });
});
