/**
 * The leader's view of its followers, and the ISR and high-watermark rules
 * that follow from it (Kafka's Partition.scala: updateFollowerFetchState,
 * maybeExpandIsr, maybeShrinkIsr, maybeIncrementLeaderHW). Pure: time comes in
 * as arguments, and ISR changes come out as proposals the caller sends to the
 * controller, which alone commits them.
 */

export interface FollowerState {
  readonly brokerId: number;
  /** The follower's log end offset as its last fetch offset says; -1 before its first fetch to this leader. */
  leo: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's LEO when the previous fetch arrived. */
  lastFetchLeaderLeo: number;
}

export interface IsrTrackerOptions {
  localBrokerId: number;
  replicas: readonly number[];
  isr: readonly number[];
  minInsyncReplicas: number;
  replicaLagTimeMaxMs: number;
  /** The HW this replica knew when it became leader. */
  highWatermark: number;
  /** The leader's LEO when its epoch began: a follower must reach it to join the ISR. */
  leaderEpochStartOffset: number;
  nowMs: number;
}

export class IsrTracker {
  readonly localBrokerId: number;
  private readonly followers = new Map<number, FollowerState>();
  private readonly minInsync: number;
  private readonly lagTimeMaxMs: number;
  private readonly leaderEpochStartOffset: number;
  private committed: number[];
  private pending: number[] | null = null;
  private hw: number;

  constructor(options: IsrTrackerOptions) {
    this.localBrokerId = options.localBrokerId;
    this.minInsync = options.minInsyncReplicas;
    this.lagTimeMaxMs = options.replicaLagTimeMaxMs;
    this.leaderEpochStartOffset = options.leaderEpochStartOffset;
    this.committed = [...options.isr];
    this.hw = options.highWatermark;
    for (const id of options.replicas) {
      if (id === this.localBrokerId) continue;
      // As Kafka does on becoming leader: ISR members get a fresh lag clock, so a
      // new leader does not evict followers before they had a chance to fetch.
      const inIsr = options.isr.includes(id);
      this.followers.set(id, {
        brokerId: id,
        leo: -1,
        lastCaughtUpTimeMs: inIsr ? options.nowMs : 0,
        lastFetchTimeMs: 0,
        lastFetchLeaderLeo: -1,
      });
    }
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** The ISR the controller committed. */
  get isr(): readonly number[] {
    return this.committed;
  }

  /** The ISR proposed to the controller and not yet answered, or null. */
  get pendingIsr(): readonly number[] | null {
    return this.pending;
  }

  /**
   * Committed ISR plus any member a pending proposal would add or remove. The
   * HW is computed over it, so it is safe whichever way the proposal ends
   * (Kafka's "maximal ISR").
   */
  get maximalIsr(): readonly number[] {
    if (this.pending === null) return this.committed;
    return [...new Set([...this.committed, ...this.pending])];
  }

  isUnderMinIsr(): boolean {
    return this.committed.length < this.minInsync;
  }

  follower(brokerId: number): Readonly<FollowerState> | undefined {
    return this.followers.get(brokerId);
  }

  followerStates(): ReadonlyArray<Readonly<FollowerState>> {
    return [...this.followers.values()];
  }

  /**
   * A follower fetched from `fetchOffset`, which means it has everything below
   * it. Caught up = reached the leader's LEO as of this fetch, or as of its
   * previous fetch (a follower that keeps pace with steady appends is never
   * exactly at the LEO but is not lagging either).
   */
  recordFollowerFetch(brokerId: number, fetchOffset: number, leaderLeo: number, nowMs: number): void {
    const f = this.followers.get(brokerId);
    if (f === undefined) return;
    if (fetchOffset >= leaderLeo) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (f.lastFetchLeaderLeo >= 0 && fetchOffset >= f.lastFetchLeaderLeo) {
      // Only a fetch that had a previous one to this leader: before it there is
      // no "leader's LEO then" to have reached, and no time (its 0 would date
      // the catch-up to 1970, and the next ISR check would evict it at once).
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    }
    f.leo = fetchOffset;
    f.lastFetchLeaderLeo = leaderLeo;
    f.lastFetchTimeMs = nowMs;
  }

  /**
   * The ISR to propose when `brokerId` has caught up enough to rejoin: its LEO
   * reached the HW and the start of the current leader epoch. Null when there
   * is nothing to propose (already a member, or a proposal is in flight).
   */
  expansionFor(brokerId: number): number[] | null {
    if (this.pending !== null || this.committed.includes(brokerId)) return null;
    const f = this.followers.get(brokerId);
    if (f === undefined || f.leo < 0) return null;
    if (f.leo >= this.hw && f.leo >= this.leaderEpochStartOffset) return [...this.committed, brokerId];
    return null;
  }

  /**
   * The ISR to propose without the followers that are behind the leader's LEO
   * and have not caught up for longer than replica.lag.time.max.ms. A follower
   * at the LEO is in sync however long ago it fetched (Kafka's rule: nothing to
   * replicate means nothing to lag on).
   */
  shrinkProposal(leaderLeo: number, nowMs: number): number[] | null {
    if (this.pending !== null) return null;
    const lagging = this.committed.filter((id) => {
      if (id === this.localBrokerId) return false;
      const f = this.followers.get(id);
      if (f === undefined) return false;
      return f.leo !== leaderLeo && nowMs - f.lastCaughtUpTimeMs > this.lagTimeMaxMs;
    });
    if (lagging.length === 0) return null;
    return this.committed.filter((id) => !lagging.includes(id));
  }

  laggingReason(brokerId: number, leaderLeo: number, nowMs: number): string {
    const f = this.followers.get(brokerId);
    if (f === undefined) return 'not a replica';
    return `LEO ${f.leo} vs leader LEO ${leaderLeo}, last caught up ${nowMs - f.lastCaughtUpTimeMs} ms ago`;
  }

  markProposed(isr: readonly number[]): void {
    this.pending = [...isr];
  }

  abandonProposal(): void {
    this.pending = null;
  }

  /**
   * The controller's decision, from its answer to a proposal or from a
   * LeaderAndIsr push. A follower it adds starts a fresh lag clock, as ISR
   * members do when a leader begins (it was admitted for having reached the
   * HW): its last catch-up may lie long before, or never have happened to the
   * letter, and the next ISR check must not evict it for that.
   */
  commitIsr(isr: readonly number[], nowMs: number): void {
    for (const id of isr) {
      const f = this.followers.get(id);
      if (f !== undefined && !this.committed.includes(id)) {
        f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
      }
    }
    this.committed = [...isr];
    this.pending = null;
  }

  /**
   * HW = min LEO over the maximal ISR, the leader's own LEO included. It never
   * moves back, and it does not move at all while the committed ISR is smaller
   * than min.insync.replicas (KIP-966): records acknowledged to acks=1
   * producers stay invisible until enough replicas hold them.
   * Returns true when the HW advanced.
   */
  maybeAdvanceHighWatermark(leaderLeo: number): boolean {
    if (this.isUnderMinIsr()) return false;
    let candidate = leaderLeo;
    for (const id of this.maximalIsr) {
      if (id === this.localBrokerId) continue;
      const leo = this.followers.get(id)?.leo ?? -1;
      candidate = Math.min(candidate, leo);
    }
    if (candidate > this.hw) {
      this.hw = candidate;
      return true;
    }
    return false;
  }
}
