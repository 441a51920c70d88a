import { describe, expect, test } from 'vitest';
import { IsrTracker } from '../src/replication/isr-tracker.js';

function tracker(overrides: Partial<ConstructorParameters<typeof IsrTracker>[0]> = {}) {
  return new IsrTracker({
    localBrokerId: 1,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    minInsyncReplicas: 1,
    replicaLagTimeMaxMs: 1000,
    highWatermark: 0,
    leaderEpochStartOffset: 0,
    nowMs: 0,
    ...overrides,
  });
}

describe('high watermark', () => {
  test('is the minimum LEO over the ISR, the leader included', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 3, 3, 10);
    t.recordFollowerFetch(3, 1, 3, 10);
    expect(t.maybeAdvanceHighWatermark(3)).toBe(true);
    expect(t.highWatermark).toBe(1);
    t.recordFollowerFetch(3, 2, 3, 20);
    t.maybeAdvanceHighWatermark(3);
    expect(t.highWatermark).toBe(2);
  });

  test('does not move until every ISR follower has fetched from this leader', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 5, 5, 10);
    expect(t.maybeAdvanceHighWatermark(5)).toBe(false);
    expect(t.highWatermark).toBe(0);
  });

  test('never moves back, even when the ISR changes under it', () => {
    const t = tracker({ highWatermark: 4 });
    t.recordFollowerFetch(2, 2, 6, 10);
    t.recordFollowerFetch(3, 2, 6, 10);
    expect(t.maybeAdvanceHighWatermark(6)).toBe(false);
    expect(t.highWatermark).toBe(4);
  });

  test('ignores followers outside the ISR', () => {
    const t = tracker({ isr: [1, 2] });
    t.recordFollowerFetch(2, 7, 7, 10);
    t.maybeAdvanceHighWatermark(7);
    expect(t.highWatermark).toBe(7);
  });

  test('stays put while the ISR is smaller than min.insync.replicas (KIP-966)', () => {
    const t = tracker({ isr: [1, 2], minInsyncReplicas: 3 });
    t.recordFollowerFetch(2, 4, 4, 10);
    expect(t.isUnderMinIsr()).toBe(true);
    expect(t.maybeAdvanceHighWatermark(4)).toBe(false);
    t.commitIsr([1, 2, 3], 15);
    t.recordFollowerFetch(3, 4, 4, 20);
    expect(t.maybeAdvanceHighWatermark(4)).toBe(true);
    expect(t.highWatermark).toBe(4);
  });

  test('counts a follower a pending shrink would remove (maximal ISR)', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 5, 5, 10);
    t.recordFollowerFetch(3, 1, 5, 10);
    t.markProposed([1, 2]);
    t.maybeAdvanceHighWatermark(5);
    expect(t.highWatermark).toBe(1);
    t.commitIsr([1, 2], 20);
    t.maybeAdvanceHighWatermark(5);
    expect(t.highWatermark).toBe(5);
  });
});

describe('ISR shrink', () => {
  test('evicts a follower that has not caught up for longer than replica.lag.time.max.ms', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 10, 10, 100);
    t.recordFollowerFetch(3, 4, 10, 100);
    expect(t.shrinkProposal(10, 900)).toBeNull();
    expect(t.shrinkProposal(10, 1001)).toEqual([1, 2]);
  });

  test('keeps a follower at the leader LEO however long ago it fetched', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 10, 10, 0);
    t.recordFollowerFetch(3, 10, 10, 0);
    expect(t.shrinkProposal(10, 60_000)).toBeNull();
  });

  test('a follower keeping pace with appends counts as caught up at its previous fetch', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 5, 6, 500);
    // Behind by one again, but it reached the LEO (6) the leader had at its
    // previous fetch: caught up as of that fetch, at 500.
    t.recordFollowerFetch(2, 6, 7, 900);
    t.recordFollowerFetch(3, 7, 7, 900);
    expect(t.follower(2)?.lastCaughtUpTimeMs).toBe(500);
    expect(t.shrinkProposal(7, 1400)).toBeNull();
    expect(t.shrinkProposal(8, 1600)).toEqual([1, 3]);
  });

  test('proposes nothing while a proposal is in flight', () => {
    const t = tracker();
    t.markProposed([1, 2, 3]);
    expect(t.shrinkProposal(10, 10_000)).toBeNull();
  });
});

describe('ISR expand', () => {
  test('re-admits a follower once its LEO reaches the HW', () => {
    const t = tracker({ isr: [1, 2], highWatermark: 8 });
    t.recordFollowerFetch(3, 5, 9, 10);
    expect(t.expansionFor(3)).toBeNull();
    t.recordFollowerFetch(3, 8, 9, 20);
    expect(t.expansionFor(3)).toEqual([1, 2, 3]);
  });

  test('requires the follower to reach the start of the leader epoch too', () => {
    const t = tracker({ isr: [1, 2], highWatermark: 3, leaderEpochStartOffset: 6 });
    t.recordFollowerFetch(3, 4, 9, 10);
    expect(t.expansionFor(3)).toBeNull();
    t.recordFollowerFetch(3, 6, 9, 20);
    expect(t.expansionFor(3)).toEqual([1, 2, 3]);
  });

  test('a follower admitted to the ISR is not evicted by the next check: its lag clock starts at admission', () => {
    // Wall-clock times, as a broker runs: a follower out of the ISR never caught up with this leader.
    const now = 1_796_658_330_189;
    const t = tracker({ isr: [1, 2], highWatermark: 5, nowMs: now });
    t.recordFollowerFetch(2, 10, 10, now + 100);
    // Its first fetch reaches the HW but not the LEO (the leader keeps appending).
    t.recordFollowerFetch(3, 6, 10, now + 100);
    const proposed = t.expansionFor(3);
    expect(proposed).toEqual([1, 2, 3]);
    t.markProposed(proposed!);
    t.commitIsr(proposed!, now + 120);

    // The next check, 80 ms on: the new member is not "lagging since 1970".
    expect(t.shrinkProposal(10, now + 200)).toBeNull();
    expect(t.laggingReason(3, 10, now + 200)).toBe('LEO 6 vs leader LEO 10, last caught up 80 ms ago');
    // It is evicted only if it then lags for replica.lag.time.max.ms like anyone else.
    expect(t.shrinkProposal(10, now + 1121)).toEqual([1, 2]);
  });

  test('never proposes a member twice', () => {
    const t = tracker();
    t.recordFollowerFetch(2, 0, 0, 10);
    expect(t.expansionFor(2)).toBeNull();
  });
});
