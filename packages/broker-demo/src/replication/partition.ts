import { Mutex } from 'async-mutex';
import { NO_PRODUCER_ID, readBatchHeader } from '../log/index.js';
import type { IsrProposal, PartitionState } from '../protocol/cluster-state.js';
import { Acks, BrokerResponseCode, NO_LEADER, UNDEFINED_EPOCH } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { stampBatch } from '../protocol/records-codec.js';
import type { ReplicaRole, ReplicaStatus, TruncationRecord } from '../protocol/replica-status.js';
import { type DelayedOperation, DelayedOperations, DelayedOperationTimer } from './delayed-operations.js';
import { IsrTracker } from './isr-tracker.js';
import { ProducerStateTable } from './producer-state.js';
import type { ReplicaLog } from './replica-log.js';

/**
 * The role together with what only that role owns. The union makes a second
 * copy of the HW impossible: a leader's HW lives in its IsrTracker (computed
 * from the followers' LEOs), any other role's is the one the leader last sent.
 * Each transition builds the next state from the previous one and hands the
 * HW over, so the value never has two owners.
 */
type ReplicaState =
  | { readonly role: 'leader'; readonly tracker: IsrTracker }
  | { readonly role: 'follower'; highWatermark: number }
  | { readonly role: 'offline'; highWatermark: number };

/**
 * What `applyState` did with a controller decision, named after Kafka's
 * Partition transitions: tests and logs read it, the broker ignores it.
 */
export type PartitionTransition =
  /** An older leader or partition epoch than the one applied: a late or replayed push. */
  | 'ignored-stale'
  /** makeLeader: first decision naming this broker leader, or a new leader epoch for it. */
  | 'made-leader'
  /** Still leader in the same epoch: only the committed ISR changed (an AlterIsr answer). */
  | 'isr-updated'
  /** makeFollower: a new leader, or a new epoch of the same one; the fetcher restarts. */
  | 'made-follower'
  /** Still following the same leader in the same epoch: nothing to restart. */
  | 'follower-unchanged'
  /** makeOffline: the partition has no leader (no live ISR member, no unclean election). */
  | 'made-offline';

export interface PartitionOptions {
  topic: string;
  partition: number;
  brokerId: number;
  log: ReplicaLog;
  replicaLagTimeMaxMs: number;
  /** Sends an ISR proposal to the controller; resolves with its decision, or null if it refused or was unreachable. */
  proposeIsr: (proposal: IsrProposal) => Promise<PartitionState | null>;
  /** Called when this replica must (re)start following `state.leader` (a new leader or epoch). */
  startFollowing: (partition: Partition, state: PartitionState) => Promise<void>;
  /** Called when this replica must stop following: it became leader, or the partition has no leader. */
  stopFollowing: (partition: Partition) => Promise<void>;
  now?: () => number;
  /**
   * Whether this broker's session with the cluster's coordination is
   * provably alive (ControllerLink.sessionValid). While it is not, the
   * broker may already have been declared dead and another replica elected:
   * the leader then acknowledges no acks=all write (no zombie leader).
   * Default: always valid.
   */
  sessionValid?: () => boolean;
  /** The broker's one timer for parked requests; a partition of its own gets its own (tests). */
  delayedOperationTimer?: DelayedOperationTimer;
  /** Where the replica narrates its role changes and ISR proposals. */
  say?: (line: string) => void;
}

/** How an acks=all wait ended. */
export type AckOutcome = { ok: true } | { ok: false; responseCode: number; message: string };

export interface ProduceOutcome {
  baseOffset: number;
  lastOffset: number;
  leaderEpoch: number;
  /** The batch was a retry of one already in the log, answered with its original offsets. */
  duplicate: boolean;
}

export interface FetchParams {
  fetchOffset: number;
  maxBytes: number;
  maxWaitMs: number;
  replicaId: number;
  currentLeaderEpoch: number;
  replicaHighWatermark: number;
}

export interface FetchOutcome {
  /** A view of a pooled read buffer: call `release` once it has been written out. */
  bytes: Buffer;
  release(): void;
  nextOffset: number;
  highWatermark: number;
  logEndOffset: number;
  logStartOffset: number;
  leaderEpoch: number;
}

/**
 * One partition replica on one broker, as an explicit state machine (Kafka's
 * cluster/Partition.scala): the controller's decisions arrive through
 * `applyState`, which picks one of the named transitions `makeLeader`,
 * `makeFollower` or `makeOffline`; `abandon` is the shutdown transition.
 * While leading it owns the ISR/HW bookkeeping (IsrTracker), the acks=all
 * waits and the parked fetches.
 *
 * Rules that hold across every transition:
 * - decisions are ordered by (leader epoch, partition epoch): an older one is
 *   ignored, so a LeaderAndIsr push that arrives after a newer heartbeat's
 *   copy cannot undo it;
 * - transitions and leader appends run under one mutex, so a batch accepted
 *   as leader is written as leader: none lands after this replica began to
 *   follow (a follower's log takes only the leader's batches), and a new
 *   epoch is in the epoch cache before the first batch stamped with it;
 * - the HW moves in one place per role (`advanceLeaderHighWatermark`,
 *   `setHighWatermarkWhileNotLeading`), and every move retries the parked
 *   requests, which are waiting for exactly that.
 */
export class Partition {
  readonly topic: string;
  readonly partition: number;
  readonly log: ReplicaLog;
  private readonly brokerId: number;
  private readonly options: PartitionOptions;
  private readonly now: () => number;
  private readonly sessionValid: () => boolean;
  /** Serializes transitions with leader appends (see the class comment). */
  private readonly queue = new Mutex();
  /** acks=all produces waiting for the HW (Kafka's DelayedProduce). */
  private readonly produceWaits: DelayedOperations<AckOutcome>;
  /** Fetch long-polls waiting for data or a new HW (Kafka's DelayedFetch): true when ready, false when not. */
  private readonly fetchWaits: DelayedOperations<boolean>;
  /**
   * Idempotent producers' recent batches. Kept in every role and rebuilt
   * from the batches themselves (each carries its producer id and base
   * sequence): a follower records those it appends from the leader, and a
   * restarted broker those in its log (`loadProducerState`), so that, once
   * it leads, a producer retrying a batch the old leader appended gets its
   * offsets back instead of a second copy.
   */
  private readonly producers = new ProducerStateTable();
  /** Until the controller's first word a replica serves nothing; its HW starts at 0 (unknown). */
  private replica: ReplicaState = { role: 'offline', highWatermark: 0 };
  private state: PartitionState | null = null;
  private minInsync = 1;
  /** For REPLICA_STATUS: the live view dates a truncation by it, not by when it noticed the LEO fall. */
  private lastTruncation: TruncationRecord | null = null;

  constructor(options: PartitionOptions) {
    this.options = options;
    this.topic = options.topic;
    this.partition = options.partition;
    this.brokerId = options.brokerId;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.sessionValid = options.sessionValid ?? (() => true);
    const timer = options.delayedOperationTimer ?? new DelayedOperationTimer();
    this.produceWaits = new DelayedOperations(timer);
    this.fetchWaits = new DelayedOperations(timer);
  }

  get currentRole(): ReplicaRole {
    return this.replica.role;
  }

  get leaderEpoch(): number {
    return this.state?.leaderEpoch ?? UNDEFINED_EPOCH;
  }

  get leaderId(): number {
    return this.state?.leader ?? NO_LEADER;
  }

  get highWatermark(): number {
    return this.replica.role === 'leader' ? this.replica.tracker.highWatermark : this.replica.highWatermark;
  }

  /** The tracker while leading, else null. */
  private get tracker(): IsrTracker | null {
    return this.replica.role === 'leader' ? this.replica.tracker : null;
  }

  /**
   * Applies the controller's decision for this partition through the
   * transition it calls for, and says which. Decisions older than the one
   * applied are ignored.
   */
  applyState(state: PartitionState, minInsync: number): Promise<PartitionTransition> {
    return this.queue.runExclusive(() => this.applyStateNow(state, minInsync));
  }

  private async applyStateNow(state: PartitionState, minInsync: number): Promise<PartitionTransition> {
    const previous = this.state;
    if (previous !== null && isOlder(state, previous)) return 'ignored-stale';
    this.minInsync = minInsync;
    const newLeaderEpoch = previous === null || state.leaderEpoch > previous.leaderEpoch;
    this.state = { ...state, isr: [...state.isr], replicas: [...state.replicas] };

    if (state.leader === this.brokerId) {
      // Same epoch, still leader: the decision can only be an ISR change (the
      // controller bumps the leader epoch on every election). Rebuilding the
      // tracker here would forget the followers' LEOs and reset the HW.
      if (this.replica.role === 'leader' && !newLeaderEpoch) {
        this.updateIsr(state.isr);
        return 'isr-updated';
      }
      await this.makeLeader(state);
      return 'made-leader';
    }
    if (state.leader === NO_LEADER) {
      await this.makeOffline();
      return 'made-offline';
    }
    // A follower restarts its fetcher only for a new leader or epoch: the
    // fetcher's requests carry the epoch, and it must run its KIP-101
    // truncation again before trusting the new leader's log. An ISR change
    // alone is no reason to interrupt a long-poll.
    if (this.replica.role === 'follower' && !newLeaderEpoch && previous?.leader === state.leader) {
      return 'follower-unchanged';
    }
    await this.makeFollower(state);
    return 'made-follower';
  }

  /**
   * Becomes (or stays, in a new epoch) the leader. The fetcher is stopped
   * first and awaited: once it returns, no follower append or truncation can
   * touch the log under the leader's feet.
   */
  private async makeLeader(state: PartitionState): Promise<void> {
    await this.options.stopFollowing(this);
    // The leader epoch cache gains (epoch, LEO): a follower that asks where an
    // older epoch ends (KIP-101's OffsetsForLeaderEpoch) learns the offset at
    // which our log and its own may diverge, and truncates there rather than
    // at its HW, which could cut records that were committed.
    if (this.log.latestEpoch() < state.leaderEpoch) await this.log.assignLeaderEpoch(state.leaderEpoch);
    // The HW carried over can never be above our own LEO: after an unclean
    // election the new leader may hold less than the old HW said.
    const highWatermark = Math.min(this.highWatermark, this.log.logEndOffset);
    const tracker = new IsrTracker({
      localBrokerId: this.brokerId,
      replicas: state.replicas,
      isr: state.isr,
      minInsyncReplicas: this.minInsync,
      replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs,
      highWatermark,
      // Kafka's leaderEpochStartOffset: a follower joins the ISR only once it
      // holds everything the previous epochs wrote, so the ISR never gains a
      // member that could still need to truncate.
      leaderEpochStartOffset: this.log.logEndOffset,
      nowMs: this.now(),
    });
    this.replica = { role: 'leader', tracker };
    this.say(
      `leader for epoch ${state.leaderEpoch}, ISR [${state.isr}], LEO ${this.log.logEndOffset}, HW ${highWatermark}`,
    );
    // Parked fetches of a previous epoch must end now (they answer NOT_LEADER
    // or with fresh epoch data) and a lone leader's HW may move at once.
    this.fetchWaits.checkAll();
    this.advanceLeaderHighWatermark();
  }

  /** Follows `state.leader` in `state.leaderEpoch`: the fetcher starts with a KIP-101 truncation. */
  private async makeFollower(state: PartitionState): Promise<void> {
    this.leaveLeadership(state.leader);
    this.replica = { role: 'follower', highWatermark: this.highWatermark };
    await this.options.startFollowing(this, state);
  }

  /**
   * No leader: the partition is offline (Kafka keeps the last ISR so that a
   * member's return can elect it cleanly). Nothing is served or fetched; the
   * log is kept as it is, since any of it may turn out committed.
   */
  private async makeOffline(): Promise<void> {
    this.leaveLeadership(NO_LEADER);
    this.replica = { role: 'offline', highWatermark: this.highWatermark };
    await this.options.stopFollowing(this);
  }

  /**
   * A deposed leader answers its acks=all waits NOT_LEADER (the batch was
   * appended and may yet be committed by the new leader, so the producer
   * retries, and idempotence dedupes it) and ends its parked fetches, which
   * then answer NOT_LEADER too. The HW leaves with the tracker: `highWatermark`
   * reads the tracker's value until the caller builds the next state from it.
   */
  private leaveLeadership(newLeader: number): void {
    if (this.replica.role !== 'leader') return;
    const err = BrokerError.notLeader(this.topic, this.partition, newLeader);
    this.produceWaits.completeAll(() => ({
      ok: false,
      responseCode: BrokerResponseCode.NOT_LEADER,
      message: err.message,
    }));
    this.fetchWaits.completeAll(() => false);
  }

  private updateIsr(isr: readonly number[]): void {
    const tracker = this.tracker;
    if (tracker === null) return;
    tracker.commitIsr(isr, this.now());
    // A shrink can end acks=all waits two ways: below min.insync.replicas they
    // fail (NOT_ENOUGH_REPLICAS_AFTER_APPEND, see delayedProduce), and without
    // the slow follower the HW may now move and complete them.
    this.produceWaits.checkAll();
    this.advanceLeaderHighWatermark();
  }

  /**
   * Leader append of one producer batch (already validated: see
   * validateProducedBatch), stamped with its offsets and this leader's epoch
   * and written as one log batch. Idempotent batches (a producer id in the
   * batch header) are checked against the producer's sequence first: a retry
   * of an appended batch gets its original offsets, a gap is refused with
   * OUT_OF_ORDER_SEQUENCE. acks=all then waits for the HW, or fails as Kafka
   * would.
   */
  async produce(batch: Buffer, acks: number, timeoutMs: number): Promise<ProduceOutcome> {
    const header = readBatchHeader(batch, 0);
    const recordCount = header.recordCount;
    const producer =
      header.producerId === NO_PRODUCER_ID
        ? undefined
        : { producerId: header.producerId, sequence: header.baseSequence };
    const appended = await this.queue.runExclusive(async (): Promise<ProduceOutcome> => {
      const tracker = this.requireLeader();
      if (acks === Acks.ALL && !this.sessionValid()) {
        throw BrokerError.brokerFenced(
          `acks=all produce to ${this.topic}-${this.partition} refused before the append`,
        );
      }
      // Refusing before the append (Kafka's NOT_ENOUGH_REPLICAS) keeps a
      // record that cannot be committed out of the log: the producer knows
      // it was not written. Only acks=all asked for that guarantee.
      if (acks === Acks.ALL && tracker.isr.length < this.minInsync) {
        throw new BrokerError(
          BrokerResponseCode.NOT_ENOUGH_REPLICAS,
          `${this.topic}-${this.partition}: ISR [${tracker.isr}] has ${tracker.isr.length} replica(s), ` +
            `min.insync.replicas is ${this.minInsync}; refused before the append`,
        );
      }
      const epoch = this.leaderEpoch;
      if (producer !== undefined) {
        // A retry of a batch still in the log is answered with its offsets; a gap or a producer
        // this replica does not know is refused (producer-state.ts says which).
        const earlier = this.producers.checkAppend(
          producer.producerId,
          producer.sequence,
          recordCount,
          this.log.logEndOffset,
          `${this.topic}-${this.partition}`,
        );
        if (earlier !== null) {
          return {
            baseOffset: earlier.baseOffset,
            lastOffset: earlier.lastOffset,
            leaderEpoch: epoch,
            duplicate: true,
          };
        }
      }
      const baseOffset = this.log.logEndOffset;
      // The leader epoch goes into every batch: it is what lets a follower's
      // KIP-101 check tell this leader's records from a deposed one's.
      stampBatch(batch, baseOffset, epoch);
      await this.log.appendRawBatches(batch);
      const lastOffset = baseOffset + recordCount - 1;
      if (producer !== undefined) this.producers.record({ ...producer, baseOffset, lastOffset });
      // The LEO moved: followers' long-polls have data now.
      this.fetchWaits.checkAll();
      this.advanceLeaderHighWatermark();
      return { baseOffset, lastOffset, leaderEpoch: epoch, duplicate: false };
    });
    if (acks !== Acks.ALL) return appended;
    // The session may have lapsed during the append: then no acknowledgement, whatever the HW says.
    if (!this.sessionValid()) {
      throw BrokerError.brokerFenced(`acks=all produce to ${this.topic}-${this.partition}`, {
        appended: true,
      });
    }
    // A lone leader (or a quick follower) may already have moved the HW past the batch.
    if (this.highWatermark > appended.lastOffset) return appended;
    if (this.replica.role !== 'leader' || this.leaderEpoch !== appended.leaderEpoch) {
      throw this.notLeaderAfterAppend();
    }
    const outcome = await this.produceWaits.park(
      this.delayedProduce(appended.lastOffset + 1, timeoutMs),
      timeoutMs,
    );
    if (!outcome.ok) {
      if (outcome.responseCode === BrokerResponseCode.NOT_LEADER) throw this.notLeaderAfterAppend();
      throw new BrokerError(outcome.responseCode, `${this.topic}-${this.partition}: ${outcome.message}`, {
        details: { appended: 'true' },
      });
    }
    return appended;
  }

  /**
   * An acks=all wait: done when the HW reaches `requiredHw` (the batch's last
   * offset + 1); failed at once if the ISR shrinks below min.insync.replicas
   * first, as Kafka answers after the append; timed out after `timeoutMs`.
   */
  private delayedProduce(requiredHw: number, timeoutMs: number): DelayedOperation<AckOutcome> {
    return {
      tryComplete: () => {
        // Checked first: a fenced leader's HW may still move (a follower's late fetch), but it
        // may already be deposed, so nothing it holds is acknowledged (see checkIsr).
        if (!this.sessionValid()) {
          return {
            ok: false,
            responseCode: BrokerResponseCode.BROKER_FENCED,
            message:
              'the session with the coordination lapsed while waiting for the HW; the batch was appended, ' +
              'and is committed only if the next leader has it',
          };
        }
        if (this.highWatermark >= requiredHw) return { ok: true };
        const isrSize = this.tracker?.isr.length;
        if (isrSize !== undefined && isrSize < this.minInsync) {
          return {
            ok: false,
            responseCode: BrokerResponseCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            message: `the ISR shrank to ${isrSize} replica(s), below min.insync.replicas=${this.minInsync}, after the append`,
          };
        }
        return undefined;
      },
      onExpiration: () => ({
        ok: false,
        responseCode: BrokerResponseCode.REQUEST_TIMED_OUT,
        message: `the high watermark did not reach ${requiredHw} within ${timeoutMs} ms`,
      }),
    };
  }

  /** NOT_LEADER for a batch this replica appended while leading: it may still be committed. */
  private notLeaderAfterAppend(): BrokerError {
    const base = BrokerError.notLeader(this.topic, this.partition, this.leaderId);
    return new BrokerError(base.responseCode, `${base.message} (the batch was appended before that)`, {
      leaderId: this.leaderId,
      details: { appended: 'true' },
    });
  }

  /** A fetch served by the leader: followers report their LEO with it; consumers read up to the HW. */
  async fetch(params: FetchParams): Promise<FetchOutcome> {
    const tracker = this.requireLeader();
    this.checkEpoch(params.currentLeaderEpoch);
    const isFollower = params.replicaId >= 0;
    const leo = this.log.logEndOffset;
    if (params.fetchOffset > leo || params.fetchOffset < this.log.logStartOffset) {
      throw new BrokerError(
        BrokerResponseCode.OFFSET_OUT_OF_RANGE,
        `${this.topic}-${this.partition}: fetch offset ${params.fetchOffset} is outside [${this.log.logStartOffset}, ${leo}]`,
        { details: { logEndOffset: String(leo), logStartOffset: String(this.log.logStartOffset) } },
      );
    }
    // A follower's fetch offset is its LEO: Kafka needs no separate report,
    // and the HW and ISR rules run on it before the fetch may park.
    if (isFollower) this.onFollowerFetch(tracker, params.replicaId, params.fetchOffset);

    const epochAtStart = this.leaderEpoch;
    // Ends the wait too: the caller then answers NOT_LEADER instead of holding the fetch.
    const leadershipMoved = () => this.replica.role !== 'leader' || this.leaderEpoch !== epochAtStart;
    // A follower also wakes for a HW it has not seen: it cannot answer its
    // own consumers (or, once leader, its acks=all waits) from a stale HW.
    const ready = isFollower
      ? () =>
          leadershipMoved() ||
          this.log.logEndOffset > params.fetchOffset ||
          this.highWatermark > params.replicaHighWatermark
      : () => leadershipMoved() || this.highWatermark > params.fetchOffset;
    await this.fetchWaits.park(
      { tryComplete: () => (ready() ? true : undefined), onExpiration: () => false },
      params.maxWaitMs,
    );
    this.requireLeader();
    // Consumers never see past the HW: below it every ISR member holds the
    // record, so no election can take it away (an unclean one aside).
    const maxOffset = isFollower ? this.log.logEndOffset : this.highWatermark;
    const read = await this.log.read(params.fetchOffset, params.maxBytes, maxOffset);
    return {
      bytes: read.bytes,
      release: read.release,
      nextOffset: read.nextOffset,
      highWatermark: this.highWatermark,
      logEndOffset: this.log.logEndOffset,
      logStartOffset: this.log.logStartOffset,
      leaderEpoch: this.leaderEpoch,
    };
  }

  private onFollowerFetch(tracker: IsrTracker, followerId: number, fetchOffset: number): void {
    tracker.recordFollowerFetch(followerId, fetchOffset, this.log.logEndOffset, this.now());
    const expanded = tracker.expansionFor(followerId);
    if (expanded !== null) {
      this.say(
        `follower ${followerId} caught up (LEO ${fetchOffset}, HW ${this.highWatermark}): proposing ISR [${expanded}]`,
      );
      this.propose(tracker, expanded);
    }
    this.advanceLeaderHighWatermark();
  }

  /**
   * Periodic: evict followers that have lagged longer than
   * replica.lag.time.max.ms. A fenced leader proposes nothing (it may be
   * deposed already) and ends its acks=all waits, which no HW move would
   * complete any more.
   */
  checkIsr(): void {
    const tracker = this.tracker;
    if (tracker === null) return;
    if (!this.sessionValid()) {
      this.produceWaits.checkAll();
      return;
    }
    const now = this.now();
    const leo = this.log.logEndOffset;
    const shrunk = tracker.shrinkProposal(leo, now);
    if (shrunk === null) return;
    const gone = tracker.isr.filter((id) => !shrunk.includes(id));
    const why = gone.map((id) => `${id} (${tracker.laggingReason(id, leo, now)})`).join(', ');
    this.say(`shrinking ISR [${tracker.isr}] -> [${shrunk}]: lagging ${why}`);
    this.propose(tracker, shrunk);
  }

  /**
   * Sends an ISR change to the controller (KIP-497's AlterPartition): only the
   * controller commits ISRs, so a leader cut off from it cannot shrink the
   * ISR to itself and go on acknowledging alone. The proposal names the
   * epochs it was made in; the controller refuses it once either moved.
   */
  private propose(tracker: IsrTracker, isr: number[]): void {
    const state = this.state;
    if (state === null) return;
    tracker.markProposed(isr);
    const proposal: IsrProposal = {
      topic: this.topic,
      partition: this.partition,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
      isr,
    };
    this.options
      .proposeIsr(proposal)
      .then((decided) => {
        if (decided !== null) return this.applyState(decided, this.minInsync);
        // Only the tracker that proposed may forget it: a newer epoch's
        // tracker has nothing pending from this proposal.
        if (this.tracker === tracker) tracker.abandonProposal();
      })
      .catch((err: unknown) => {
        if (this.tracker === tracker) tracker.abandonProposal();
        this.say(`ISR proposal [${isr}] failed: ${String(err)}`);
      });
  }

  /**
   * The leader's one place where the HW moves: min LEO over the ISR (the
   * tracker's rule, which holds it still while the ISR is below
   * min.insync.replicas, KIP-966, so acks=1 records are not shown to
   * consumers before enough replicas hold them). Every move retries the
   * parked requests, as Kafka's tryCompleteDelayedRequests does.
   */
  private advanceLeaderHighWatermark(): void {
    const tracker = this.tracker;
    if (tracker === null) return;
    if (tracker.maybeAdvanceHighWatermark(this.log.logEndOffset)) this.highWatermarkMoved();
  }

  /**
   * A non-leader's one place where the HW moves. Bounded by the local LEO: a
   * follower cannot call committed what it does not hold, and a truncation
   * pulls it down with the log. Nothing parks on a non-leader, so there is
   * nothing to retry.
   */
  private setHighWatermarkWhileNotLeading(highWatermark: number): void {
    if (this.replica.role === 'leader') return;
    this.replica.highWatermark = Math.min(highWatermark, this.log.logEndOffset);
  }

  private highWatermarkMoved(): void {
    this.produceWaits.checkAll();
    this.fetchWaits.checkAll();
  }

  /** KIP-101: the end offset of `epoch` as this leader's log has it. */
  offsetsForLeaderEpoch(epoch: number, currentLeaderEpoch: number): { epoch: number; endOffset: number } {
    this.requireLeader();
    this.checkEpoch(currentLeaderEpoch);
    return this.log.endOffsetForEpoch(epoch);
  }

  /**
   * Follower side: the HW the leader sent. It never goes back on a follower
   * either: a leader's answer that crossed a newer one must not lower it.
   */
  updateFollowerHighWatermark(leaderHw: number): void {
    this.setHighWatermarkWhileNotLeading(Math.max(this.highWatermark, leaderHw));
  }

  /** Follower side: appends the leader's batches as they are, and records the idempotent producers' among them. */
  async appendFromLeader(bytes: Buffer): Promise<void> {
    await this.log.appendRawBatches(bytes);
    this.producers.recordBatches(bytes);
  }

  /**
   * Rebuilds the idempotent producers' state from the batches in the log
   * (Kafka rebuilds it from the log on start too, from its last snapshot;
   * there are no snapshots here, so this reads the whole log once). Call it
   * once the log is open, before the replica takes a role. A batch the read
   * refuses (a CRC mismatch in an old segment) ends the scan: the producers
   * of the batches after it are then unknown here, which refuses their next
   * batch with UNKNOWN_PRODUCER_ID rather than guessing.
   */
  loadProducerState(): Promise<{ batches: number; error?: unknown }> {
    return this.producers.rebuildFrom(this.log);
  }

  /**
   * Follower side: drops the log from `offset` on (KIP-101 divergence, a log
   * ahead of an unclean leader, or a corrupt batch to fetch again). Refused
   * while leading: a leader's log is the reference its followers truncate to.
   */
  async truncateTo(offset: number): Promise<void> {
    if (this.replica.role === 'leader') {
      throw new Error(`${this.topic}-${this.partition}: a leader does not truncate its log`);
    }
    const before = this.log.logEndOffset;
    await this.log.truncateTo(offset);
    this.producers.truncate(this.log.logEndOffset);
    this.setHighWatermarkWhileNotLeading(this.highWatermark);
    if (this.log.logEndOffset < before) {
      this.lastTruncation = { fromOffset: before, toOffset: this.log.logEndOffset, atMs: this.now() };
    }
  }

  status(): ReplicaStatus {
    const now = this.now();
    const tracker = this.tracker;
    return {
      topic: this.topic,
      partition: this.partition,
      brokerId: this.brokerId,
      role: this.replica.role,
      leader: this.leaderId,
      leaderEpoch: this.leaderEpoch,
      isr: [...(tracker?.isr ?? this.state?.isr ?? [])],
      pendingIsr: tracker?.pendingIsr ? [...tracker.pendingIsr] : null,
      logStartOffset: this.log.logStartOffset,
      logEndOffset: this.log.logEndOffset,
      highWatermark: this.highWatermark,
      followers:
        tracker === null
          ? []
          : tracker.followerStates().map((f) => ({
              brokerId: f.brokerId,
              leo: f.leo,
              lastCaughtUpMsAgo: f.lastCaughtUpTimeMs === 0 ? -1 : now - f.lastCaughtUpTimeMs,
              inIsr: tracker.isr.includes(f.brokerId),
            })),
      parked: { produces: this.produceWaits.size, fetches: this.fetchWaits.size },
      lastTruncation: this.lastTruncation === null ? null : { ...this.lastTruncation },
    };
  }

  /** Shutting down: fail what waits, without touching the log (the broker closes it). */
  abandon(): void {
    this.produceWaits.completeAll(() => ({
      ok: false,
      responseCode: BrokerResponseCode.NOT_LEADER,
      message: `${this.topic}-${this.partition}: broker shutting down`,
    }));
    this.fetchWaits.completeAll(() => false);
    this.replica = { role: 'offline', highWatermark: this.highWatermark };
  }

  private requireLeader(): IsrTracker {
    if (this.replica.role !== 'leader') {
      throw BrokerError.notLeader(this.topic, this.partition, this.leaderId);
    }
    return this.replica.tracker;
  }

  /**
   * KIP-320: requests carry the leader epoch the client believes in. An older
   * one (FENCED) means the client missed an election and must refresh; a
   * newer one (UNKNOWN) means this broker has not heard of it yet and the
   * client should retry, not be served from a deposed leader's log.
   */
  private checkEpoch(currentLeaderEpoch: number): void {
    if (currentLeaderEpoch === UNDEFINED_EPOCH) return;
    const mine = this.leaderEpoch;
    if (currentLeaderEpoch < mine) {
      throw new BrokerError(
        BrokerResponseCode.FENCED_LEADER_EPOCH,
        `${this.topic}-${this.partition}: request epoch ${currentLeaderEpoch} is older than the leader's ${mine}`,
      );
    }
    if (currentLeaderEpoch > mine) {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_LEADER_EPOCH,
        `${this.topic}-${this.partition}: request epoch ${currentLeaderEpoch} is newer than the leader's ${mine}`,
      );
    }
  }

  private say(line: string): void {
    this.options.say?.(`[${this.topic}-${this.partition}] ${line}`);
  }
}

/**
 * Whether `next` is older than `applied`: the leader epoch first (bumped by
 * every election), then the partition epoch (bumped by every change the
 * controller makes to the partition, ISR changes included).
 */
function isOlder(next: PartitionState, applied: PartitionState): boolean {
  if (next.leaderEpoch !== applied.leaderEpoch) return next.leaderEpoch < applied.leaderEpoch;
  return next.partitionEpoch < applied.partitionEpoch;
}
