/**
 * Where a follower cuts its log before fetching from a new leader (KIP-101,
 * refined by KIP-279). The follower asked the leader for the end offset of its
 * own latest epoch; the leader answered with the largest epoch it has at or
 * below that one, and where that epoch ends in the leader's log.
 */
export function truncationOffset(input: {
  /** The follower's latest leader epoch. */
  followerEpoch: number;
  followerLogEndOffset: number;
  followerLogStartOffset: number;
  /** The leader's answer. */
  leaderEpoch: number;
  leaderEndOffset: number;
  /** The follower's own end offset for an epoch (its epoch cache). */
  followerEndOffsetForEpoch: (epoch: number) => number;
}): number {
  const { followerEpoch, followerLogEndOffset, leaderEpoch, leaderEndOffset } = input;
  // The leader has no epoch at or below ours: nothing we hold is in its log.
  if (leaderEpoch < 0 || leaderEndOffset < 0) return input.followerLogStartOffset;
  // Same epoch: we diverge where the leader's copy of it ends (or not at all).
  if (leaderEpoch === followerEpoch) return Math.min(leaderEndOffset, followerLogEndOffset);
  // The leader never saw our latest epoch: keep what we share in the epoch it
  // does know, which ends at the smaller of its end and ours.
  return Math.min(leaderEndOffset, input.followerEndOffsetForEpoch(leaderEpoch), followerLogEndOffset);
}
