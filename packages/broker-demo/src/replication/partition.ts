import { Mutex } from 'async-mutex';
import { readBatchHeader } from '../log/index.js';
import type { PartitionState } from '../protocol/cluster-state.js';
import { Acks, BrokerResponseCode, NO_LEADER, UNDEFINED_EPOCH } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { stampBatch } from '../protocol/records-codec.js';
import { type DelayedOperation, DelayedOperations } from './delayed-operations.js';
import { IsrTracker } from './isr-tracker.js';
import { ProducerStateTable } from './producer-state.js';
import type { ReplicaLog } from './replica-log.js';

export type ReplicaRole = 'leader' | 'follower' | 'offline';

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
  /** Where the replica narrates its role changes and ISR proposals. */
  say?: (line: string) => void;
}

export interface IsrProposal {
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
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

/** An idempotent producer's identity for one batch: its id and the sequence number of the batch's first record. */
export interface ProducerSequence {
  producerId: number;
  sequence: number;
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
  /** For followers: the producer batches among the returned ones (see ProducerStateTable). */
  producerBatches: string;
}

export interface ReplicaStatus {
  topic: string;
  partition: number;
  brokerId: number;
  role: ReplicaRole;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  pendingIsr: number[] | null;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** As the leader sees its followers; empty on followers. */
  followers: Array<{ brokerId: number; leo: number; lastCaughtUpMsAgo: number; inIsr: boolean }>;
}

/**
 * One partition replica on one broker: its log, its role as the controller
 * decided it, and, while leader, the ISR/HW bookkeeping, the acks=all waiters
 * and the parked fetches. Role changes and leader appends run through one
 * queue so they never interleave.
 */
export class Partition {
  readonly topic: string;
  readonly partition: number;
  readonly log: ReplicaLog;
  private readonly brokerId: number;
  private readonly options: PartitionOptions;
  private readonly now: () => number;
  private readonly queue = new Mutex();
  /** acks=all produces waiting for the HW (Kafka's DelayedProduce). */
  private readonly produceWaits = new DelayedOperations<AckOutcome>();
  /** Fetch long-polls waiting for data or a new HW (Kafka's DelayedFetch): true when ready, false when not. */
  private readonly fetchWaits = new DelayedOperations<boolean>();
  private readonly producers = new ProducerStateTable();
  private role: ReplicaRole = 'offline';
  private state: PartitionState | null = null;
  private minInsync = 1;
  private tracker: IsrTracker | null = null;
  /**
   * The HW while this replica does not lead: what the leader last sent,
   * bounded by the local LEO. While leading, the IsrTracker owns the HW and
   * this field is not read; each role change hands the value over, so there
   * is never a second copy to drift.
   */
  private hwWhileNotLeading = 0;

  constructor(options: PartitionOptions) {
    this.options = options;
    this.topic = options.topic;
    this.partition = options.partition;
    this.brokerId = options.brokerId;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  get currentRole(): ReplicaRole {
    return this.role;
  }

  get leaderEpoch(): number {
    return this.state?.leaderEpoch ?? UNDEFINED_EPOCH;
  }

  get leaderId(): number {
    return this.state?.leader ?? NO_LEADER;
  }

  get highWatermark(): number {
    return this.tracker === null ? this.hwWhileNotLeading : this.tracker.highWatermark;
  }

  /** Applies the controller's decision for this partition. Stale decisions (older epochs) are ignored. */
  applyState(state: PartitionState, minInsync: number): Promise<void> {
    return this.queue.runExclusive(() => this.applyStateNow(state, minInsync));
  }

  private async applyStateNow(state: PartitionState, minInsync: number): Promise<void> {
    const previous = this.state;
    if (previous !== null) {
      if (state.leaderEpoch < previous.leaderEpoch) return;
      if (state.leaderEpoch === previous.leaderEpoch && state.partitionEpoch < previous.partitionEpoch)
        return;
    }
    this.minInsync = minInsync;
    const newEpoch = previous === null || state.leaderEpoch > previous.leaderEpoch;
    this.state = { ...state, isr: [...state.isr], replicas: [...state.replicas] };

    if (state.leader === this.brokerId) {
      if (this.role !== 'leader' || newEpoch) await this.becomeLeader(state);
      else this.commitIsr(state.isr);
      return;
    }
    if (this.role === 'leader') this.resignLeadership(state.leader);
    if (this.role !== 'follower' || newEpoch || previous?.leader !== state.leader) {
      this.role = state.leader === NO_LEADER ? 'offline' : 'follower';
      if (state.leader === NO_LEADER) await this.options.stopFollowing(this);
      else await this.options.startFollowing(this, this.state);
    }
  }

  private async becomeLeader(state: PartitionState): Promise<void> {
    await this.options.stopFollowing(this);
    // Kafka's leader epoch cache entry: the new epoch starts at our LEO, so a
    // follower asking for the end of an older epoch learns where ours diverged.
    if (this.log.latestEpoch() < state.leaderEpoch) await this.log.assignLeaderEpoch(state.leaderEpoch);
    const highWatermark = Math.min(this.highWatermark, this.log.logEndOffset);
    this.tracker = new IsrTracker({
      localBrokerId: this.brokerId,
      replicas: state.replicas,
      isr: state.isr,
      minInsyncReplicas: this.minInsync,
      replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs,
      highWatermark,
      leaderEpochStartOffset: this.log.logEndOffset,
      nowMs: this.now(),
    });
    this.role = 'leader';
    this.say(
      `leader for epoch ${state.leaderEpoch}, ISR [${state.isr}], LEO ${this.log.logEndOffset}, HW ${highWatermark}`,
    );
    this.maybeAdvanceHw();
  }

  private resignLeadership(newLeader: number): void {
    const err = BrokerError.notLeader(this.topic, this.partition, newLeader);
    this.produceWaits.completeAll(() => ({
      ok: false,
      responseCode: BrokerResponseCode.NOT_LEADER,
      message: err.message,
    }));
    this.stopTracking();
    this.fetchWaits.completeAll(() => false);
  }

  /** Leaving the leader role: the HW goes back from the tracker to this replica. */
  private stopTracking(): void {
    if (this.tracker !== null) this.hwWhileNotLeading = this.tracker.highWatermark;
    this.tracker = null;
  }

  private commitIsr(isr: readonly number[]): void {
    const tracker = this.tracker;
    if (tracker === null) return;
    tracker.commitIsr(isr);
    // A wait whose ISR fell below min.insync.replicas ends now (see delayedProduce).
    this.produceWaits.checkAll();
    this.maybeAdvanceHw();
  }

  /**
   * Leader append of one producer batch (already validated: see
   * validateProducedBatch), stamped with its offsets and this leader's epoch
   * and written as one log batch. Idempotent batches are checked against the
   * producer's sequence first: a retry of an appended batch gets its original
   * offsets, a gap is refused with OUT_OF_ORDER_SEQUENCE. acks=all then waits
   * for the HW, or fails as Kafka would.
   */
  async produce(
    batch: Buffer,
    acks: number,
    timeoutMs: number,
    producer?: ProducerSequence,
  ): Promise<ProduceOutcome> {
    const recordCount = readBatchHeader(batch, 0).recordCount;
    const appended = await this.queue.runExclusive(async (): Promise<ProduceOutcome> => {
      const tracker = this.requireLeader();
      if (acks === Acks.ALL && tracker.isr.length < this.minInsync) {
        throw new BrokerError(
          BrokerResponseCode.NOT_ENOUGH_REPLICAS,
          `${this.topic}-${this.partition}: ISR [${tracker.isr}] has ${tracker.isr.length} replica(s), ` +
            `min.insync.replicas is ${this.minInsync}; refused before the append`,
        );
      }
      const epoch = this.leaderEpoch;
      if (producer !== undefined) {
        const decision = this.producers.check(producer.producerId, producer.sequence, recordCount);
        if (decision.kind === 'duplicate' && decision.batch.lastOffset < this.log.logEndOffset) {
          return {
            baseOffset: decision.batch.baseOffset,
            lastOffset: decision.batch.lastOffset,
            leaderEpoch: epoch,
            duplicate: true,
          };
        }
        if (decision.kind === 'unknown-producer') {
          throw new BrokerError(
            BrokerResponseCode.UNKNOWN_PRODUCER_ID,
            `${this.topic}-${this.partition}: no state for producer ${producer.producerId}, whose batch starts at ` +
              `sequence ${producer.sequence}; nothing appended`,
          );
        }
        if (decision.kind === 'out-of-order') {
          throw new BrokerError(
            BrokerResponseCode.OUT_OF_ORDER_SEQUENCE,
            `${this.topic}-${this.partition}: producer ${producer.producerId} sent sequence ${producer.sequence}, ` +
              `expected ${decision.expectedSequence}; nothing appended`,
            { details: { expectedSequence: String(decision.expectedSequence) } },
          );
        }
      }
      const baseOffset = this.log.logEndOffset;
      stampBatch(batch, baseOffset, epoch);
      await this.log.appendRawBatches(batch);
      const lastOffset = baseOffset + recordCount - 1;
      if (producer !== undefined) this.producers.record({ ...producer, baseOffset, lastOffset });
      this.fetchWaits.checkAll();
      this.maybeAdvanceHw();
      return { baseOffset, lastOffset, leaderEpoch: epoch, duplicate: false };
    });
    // A lone leader (or a quick follower) may already have moved the HW past the batch.
    if (acks !== Acks.ALL || this.highWatermark > appended.lastOffset) return appended;
    if (this.role !== 'leader' || this.leaderEpoch !== appended.leaderEpoch) {
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
    if (isFollower) this.onFollowerFetch(tracker, params.replicaId, params.fetchOffset);

    const epochAtStart = this.leaderEpoch;
    // Ends the wait too: the caller then answers NOT_LEADER instead of holding the fetch.
    const leadershipMoved = () => this.role !== 'leader' || this.leaderEpoch !== epochAtStart;
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
    const maxOffset = isFollower ? this.log.logEndOffset : this.highWatermark;
    const read = await this.log.read(params.fetchOffset, params.maxBytes, maxOffset);
    return {
      producerBatches:
        isFollower && this.producers.size > 0 ? this.producers.encodeFor(batchBaseOffsets(read.bytes)) : '',
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
    this.maybeAdvanceHw();
  }

  /** Periodic: evict followers that have lagged longer than replica.lag.time.max.ms. */
  checkIsr(): void {
    const tracker = this.tracker;
    if (tracker === null || this.role !== 'leader') return;
    const now = this.now();
    const leo = this.log.logEndOffset;
    const shrunk = tracker.shrinkProposal(leo, now);
    if (shrunk === null) return;
    const gone = tracker.isr.filter((id) => !shrunk.includes(id));
    const why = gone.map((id) => `${id} (${tracker.laggingReason(id, leo, now)})`).join(', ');
    this.say(`shrinking ISR [${tracker.isr}] -> [${shrunk}]: lagging ${why}`);
    this.propose(tracker, shrunk);
  }

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
        if (this.tracker === tracker) tracker.abandonProposal();
      })
      .catch((err: unknown) => {
        if (this.tracker === tracker) tracker.abandonProposal();
        this.say(`ISR proposal [${isr}] failed: ${String(err)}`);
      });
  }

  private maybeAdvanceHw(): void {
    const tracker = this.tracker;
    if (tracker === null) return;
    if (tracker.maybeAdvanceHighWatermark(this.log.logEndOffset)) {
      this.produceWaits.checkAll();
      this.fetchWaits.checkAll();
    }
  }

  /** KIP-101: the end offset of `epoch` as this leader's log has it. */
  offsetsForLeaderEpoch(epoch: number, currentLeaderEpoch: number): { epoch: number; endOffset: number } {
    this.requireLeader();
    this.checkEpoch(currentLeaderEpoch);
    return this.log.endOffsetForEpoch(epoch);
  }

  /** Follower side: the HW the leader sent, bounded by what this replica has. */
  updateFollowerHighWatermark(leaderHw: number): void {
    this.hwWhileNotLeading = Math.max(this.hwWhileNotLeading, Math.min(leaderHw, this.log.logEndOffset));
  }

  /** Follower side: appends the leader's batches as they are, and learns which producer batches they were. */
  async appendFromLeader(bytes: Buffer, producerBatches: string | undefined): Promise<void> {
    await this.log.appendRawBatches(bytes);
    if (producerBatches !== undefined) this.producers.learn(producerBatches);
  }

  /** Follower side: drops the log from `offset` on; the HW cannot stay above the new end. */
  async truncateTo(offset: number): Promise<void> {
    await this.log.truncateTo(offset);
    this.producers.truncate(this.log.logEndOffset);
    this.hwWhileNotLeading = Math.min(this.hwWhileNotLeading, this.log.logEndOffset);
  }

  status(): ReplicaStatus {
    const now = this.now();
    const tracker = this.tracker;
    return {
      topic: this.topic,
      partition: this.partition,
      brokerId: this.brokerId,
      role: this.role,
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
    this.stopTracking();
    this.role = 'offline';
  }

  private requireLeader(): IsrTracker {
    if (this.role !== 'leader' || this.tracker === null) {
      throw BrokerError.notLeader(this.topic, this.partition, this.leaderId);
    }
    return this.tracker;
  }

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

/** The base offset of each whole batch in `bytes` (a read result: batches back to back). */
function batchBaseOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const h = readBatchHeader(bytes, pos);
    offsets.push(h.baseOffset);
    pos += h.sizeInBytes;
  }
  return offsets;
}
