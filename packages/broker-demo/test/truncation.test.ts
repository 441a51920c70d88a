import { expect, test } from 'vitest';
import { truncationOffset } from '../src/replication/truncation.js';

const base = { followerLogStartOffset: 0, followerEndOffsetForEpoch: () => Number.MAX_SAFE_INTEGER };

test("a follower in the leader's epoch cuts where the leader's copy of that epoch ends (KIP-101)", () => {
  // Old leader wrote 0..69 in epoch 0; the new leader only had 0..19 of it.
  expect(
    truncationOffset({
      ...base,
      followerEpoch: 0,
      followerLogEndOffset: 70,
      leaderEpoch: 0,
      leaderEndOffset: 20,
    }),
  ).toBe(20);
});

test('a follower behind the leader keeps everything', () => {
  expect(
    truncationOffset({
      ...base,
      followerEpoch: 2,
      followerLogEndOffset: 5,
      leaderEpoch: 2,
      leaderEndOffset: 9,
    }),
  ).toBe(5);
});

test('when the leader never saw our latest epoch, cut at the end of the epoch it knows (KIP-279)', () => {
  // We led epoch 3 briefly (offsets 40..44) after epoch 2 ended at 40 in our log; the leader has epoch 2 ending at 42.
  const ours = (epoch: number) => (epoch === 2 ? 40 : 45);
  expect(
    truncationOffset({
      followerEpoch: 3,
      followerLogEndOffset: 45,
      followerLogStartOffset: 0,
      leaderEpoch: 2,
      leaderEndOffset: 42,
      followerEndOffsetForEpoch: ours,
    }),
  ).toBe(40);
});

test('a leader with no epoch at or below ours shares nothing with us', () => {
  expect(
    truncationOffset({
      ...base,
      followerEpoch: 0,
      followerLogEndOffset: 12,
      followerLogStartOffset: 0,
      leaderEpoch: -1,
      leaderEndOffset: -1,
    }),
  ).toBe(0);
});
