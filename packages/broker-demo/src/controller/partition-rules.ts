import type { IsrProposal, PartitionState, TopicSpec } from '../protocol/cluster-state.js';
import { BrokerResponseCode, NO_LEADER } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';

/*
 * The controller's rules for one partition, as pure functions: each takes
 * the partition's current state (never changed) and what is known of the
 * brokers, and returns the next state, or null when nothing changes. Time
 * comes in as an argument. The built-in controller (ControllerState) applies
 * them to its registry; a controller coordinated through etcd
 * (coordination/etcd/controller-plan.ts, and the leader's own ISR writes in
 * etcd-controller-link.ts) applies the same rules to what it reads from
 * etcd, so both decide alike.
 *
 * One invariant holds for every function here: a change of leader bumps the
 * leader epoch, and any change at all (leader or ISR) bumps the partition
 * epoch, which is what an ISR proposal must name to be accepted.
 */

/** What the rules need to know of the brokers. */
export interface BrokerLiveness {
  /** Registered and within its session. */
  isAlive(id: number): boolean;
  /**
   * Alive only because a restarted controller presumes so, not heard from
   * since: it keeps its place but is never elected (it may have died while
   * the controller was down).
   */
  isPresumed(id: number): boolean;
}

/** A state change and the line the controller logs for it. */
export interface Decision {
  state: PartitionState;
  note: string;
}

/** The largest partition count and replication factor a topic may ask for: the demo runs on one machine. */
export const TOPIC_LIMITS = { maxPartitions: 64, maxReplicationFactor: 16 } as const;

/** Kafka's rule for topic names: letters, digits, `.`, `_`, `-`, at most 249 characters. */
export function checkTopicName(topic: string): string | null {
  if (topic === '' || topic === '.' || topic === '..')
    return `topic name ${JSON.stringify(topic)} is not allowed`;
  if (topic.length > 249) return `topic name is ${topic.length} characters long, at most 249 are allowed`;
  if (!/^[A-Za-z0-9._-]+$/.test(topic))
    return `topic name ${JSON.stringify(topic)} may hold only letters, digits, '.', '_' and '-'`;
  return null;
}

/**
 * The partitions of a new topic, replicas assigned round-robin over the live
 * brokers (Kafka's default assignment), each led by its first replica with
 * every replica in the ISR. Refused with a typed error naming what is wrong.
 */
export function newTopicPartitions(
  spec: TopicSpec,
  liveBrokerIds: readonly number[],
  nowMs: number,
): PartitionState[] {
  const { topic, partitions, replicationFactor } = spec;
  const badName = checkTopicName(topic);
  if (badName !== null) throw new BrokerError(BrokerResponseCode.INVALID_TOPIC, badName);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > TOPIC_LIMITS.maxPartitions) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_PARTITIONS,
      `cannot create ${topic} with ${partitions} partitions: between 1 and ${TOPIC_LIMITS.maxPartitions}`,
    );
  }
  if (
    !Number.isInteger(replicationFactor) ||
    replicationFactor < 1 ||
    replicationFactor > TOPIC_LIMITS.maxReplicationFactor
  ) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REPLICATION_FACTOR,
      `cannot create ${topic} with replication factor ${replicationFactor}: between 1 and ${TOPIC_LIMITS.maxReplicationFactor}`,
    );
  }
  const { minInsyncReplicas } = spec;
  if (
    minInsyncReplicas !== undefined &&
    (!Number.isInteger(minInsyncReplicas) || minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor)
  ) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_CONFIG,
      `cannot create ${topic} with min.insync.replicas ${minInsyncReplicas}: between 1 and the replication factor ${replicationFactor}`,
    );
  }
  const live = [...liveBrokerIds].sort((a, b) => a - b);
  if (live.length < replicationFactor) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REPLICATION_FACTOR,
      `cannot create ${topic} with replication factor ${replicationFactor}: ${live.length} broker(s) alive`,
    );
  }
  const everyoneAlive: BrokerLiveness = { isAlive: () => true, isPresumed: () => false };
  return Array.from({ length: partitions }, (_, p) => {
    const replicas = Array.from({ length: replicationFactor }, (_, r) => live[(p + r) % live.length]!);
    const first = firstState({ topic, partition: p, replicas }, everyoneAlive, nowMs)!;
    return minInsyncReplicas === undefined ? first : { ...first, minInsyncReplicas };
  });
}

/**
 * The first state of a partition whose replicas are assigned: its first
 * live replica leads in epoch 0, with the live replicas as its ISR. Null
 * while none of them is alive. (A new topic's replicas are all alive when
 * the built-in controller assigns them; under etcd the controller decides
 * after the assignment was written, when some may have gone.)
 */
export function firstState(
  assigned: { topic: string; partition: number; replicas: readonly number[] },
  brokers: BrokerLiveness,
  nowMs: number,
): PartitionState | null {
  const isr = assigned.replicas.filter((id) => brokers.isAlive(id));
  const leader = isr[0];
  if (leader === undefined) return null;
  return {
    topic: assigned.topic,
    partition: assigned.partition,
    replicas: [...assigned.replicas],
    leader,
    leaderEpoch: 0,
    isr,
    partitionEpoch: 0,
    changedAtMs: nowMs,
  };
}

/**
 * Leader election: the first live ISR member in replica order (not one a
 * restarted controller merely presumes alive). With none but presumed ISR
 * members, the partition waits leaderless for one of them to heartbeat (or
 * for their sessions to lapse) rather than electing anyone else. With no ISR
 * member at all and unclean election enabled, the first live replica, whose
 * log may lack acknowledged records; otherwise the partition stays offline,
 * keeping its last ISR so that member can lead again when it returns.
 */
export function electLeader(
  p: Readonly<PartitionState>,
  brokers: BrokerLiveness,
  uncleanLeaderElection: boolean,
  why: string,
  nowMs: number,
): Decision | null {
  const key = `${p.topic}-${p.partition}`;
  const alive = (id: number) => brokers.isAlive(id);
  const electable = (id: number) => alive(id) && !brokers.isPresumed(id);
  const cleanCandidate = p.replicas.find((id) => p.isr.includes(id) && electable(id));
  const awaited = p.isr.filter((id) => alive(id) && brokers.isPresumed(id));
  let leader: number = NO_LEADER;
  let isr = [...p.isr];
  let note: string;
  if (cleanCandidate !== undefined) {
    leader = cleanCandidate;
    isr = isr.filter(alive);
    note = `${key}: ${why}; broker ${leader} elected leader in epoch ${p.leaderEpoch + 1}, ISR [${isr}]`;
  } else if (awaited.length > 0) {
    // The dead leave the ISR; the presumed stay, awaited.
    isr = isr.filter(alive);
    note = `${key}: ${why}; waiting for ISR member(s) [${awaited}] to heartbeat, ISR [${isr}]`;
  } else {
    const anyLive = uncleanLeaderElection ? p.replicas.find(electable) : undefined;
    if (anyLive !== undefined) {
      leader = anyLive;
      isr = [anyLive];
      note =
        `${key}: ${why}; UNCLEAN election of broker ${anyLive} in epoch ${p.leaderEpoch + 1} ` +
        '(no live ISR member; records only the old ISR held are lost)';
    } else {
      note = `${key}: ${why}; no eligible leader, partition offline (ISR [${isr}])`;
    }
  }
  const leaderChanged = leader !== p.leader;
  if (!leaderChanged && sameMembers(isr, p.isr)) return null;
  return {
    state: {
      ...p,
      replicas: [...p.replicas],
      leader,
      leaderEpoch: leaderChanged ? p.leaderEpoch + 1 : p.leaderEpoch,
      isr,
      // Also when only the ISR changed (the waiting path): a proposal based on the old ISR must be refused.
      partitionEpoch: p.partitionEpoch + 1,
      changedAtMs: nowMs,
    },
    note,
  };
}

/**
 * A broker died: a partition it led gets a new leader (`electLeader`); one
 * where it was only an ISR member loses it from the ISR, unless it is the
 * last member (the last ISR is kept so its return can elect it cleanly).
 */
export function onBrokerDeath(
  p: Readonly<PartitionState>,
  deadId: number,
  brokers: BrokerLiveness,
  uncleanLeaderElection: boolean,
  nowMs: number,
): Decision | null {
  if (p.leader === deadId)
    return electLeader(p, brokers, uncleanLeaderElection, `leader ${deadId} died`, nowMs);
  return removeFromIsr(p, [deadId], nowMs);
}

/**
 * Dead brokers leave the ISR of a partition they do not lead, in one change;
 * the leader epoch stays. If none of the ISR would be left, the ISR is kept
 * as it is: its members' return can then elect one of them cleanly.
 */
export function removeFromIsr(
  p: Readonly<PartitionState>,
  deadIds: readonly number[],
  nowMs: number,
): Decision | null {
  const gone = p.isr.filter((id) => id !== p.leader && deadIds.includes(id));
  const isr = p.isr.filter((id) => !gone.includes(id));
  if (gone.length === 0 || isr.length === 0) return null;
  return {
    state: { ...p, replicas: [...p.replicas], isr, partitionEpoch: p.partitionEpoch + 1, changedAtMs: nowMs },
    note: `${p.topic}-${p.partition}: dead broker(s) [${gone}] removed from ISR -> [${isr}]`,
  };
}

/** A leader's ISR change (Kafka's AlterPartition), with who sent it. */
export interface IsrChangeRequest extends IsrProposal {
  brokerId: number;
}

/**
 * A leader's ISR proposal. Accepted only from the current leader in its
 * current epoch, computed from the current partition epoch, holding the
 * leader and adding only live brokers; anything else is a stale or fenced
 * leader talking, refused with the error that says which.
 */
export function changeIsr(
  p: Readonly<PartitionState>,
  request: IsrChangeRequest,
  brokers: BrokerLiveness,
  nowMs: number,
): Decision {
  const key = `${p.topic}-${p.partition}`;
  requireCurrentLeader(p, request, 'ISR change');
  if (request.partitionEpoch !== p.partitionEpoch) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_UPDATE_VERSION,
      `${key}: ISR change based on partition epoch ${request.partitionEpoch}, current is ${p.partitionEpoch}`,
    );
  }
  const isr = [...new Set(request.isr)];
  const invalid = isr.filter(
    (id) => !p.replicas.includes(id) || (!p.isr.includes(id) && !brokers.isAlive(id)),
  );
  if (!isr.includes(p.leader) || invalid.length > 0) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REQUEST,
      `${key}: proposed ISR [${isr}] must hold the leader and only live replicas (rejected: [${invalid}])`,
    );
  }
  return {
    state: { ...p, replicas: [...p.replicas], isr, partitionEpoch: p.partitionEpoch + 1, changedAtMs: nowMs },
    note: `${key}: ISR [${p.isr}] -> [${isr}] (from leader ${p.leader})`,
  };
}

/** A leader's request to step down, with who sent it. */
export interface ResignationByBroker {
  brokerId: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  reason: string;
}

/**
 * A leader that found its own log damaged asks to step down. Granted only
 * to the current leader in its epoch, and only when another live ISR member
 * (not merely presumed alive) can take over: that member becomes leader in a
 * new epoch and the damaged replica leaves the ISR (it rejoins once it has
 * re-fetched). With no such member the request is refused and the leader
 * stays, serving what it can.
 */
export function resignLeadership(
  p: Readonly<PartitionState>,
  request: ResignationByBroker,
  brokers: BrokerLiveness,
  nowMs: number,
): Decision {
  const key = `${p.topic}-${p.partition}`;
  requireCurrentLeader(p, request, 'resignation');
  const successor = p.replicas.find(
    (id) => id !== p.leader && p.isr.includes(id) && brokers.isAlive(id) && !brokers.isPresumed(id),
  );
  if (successor === undefined) {
    throw new BrokerError(
      BrokerResponseCode.NOT_ENOUGH_REPLICAS,
      `${key}: leader ${p.leader} asked to step down (${request.reason}) but no other live ISR member ` +
        `can lead (ISR [${p.isr}]); it stays leader`,
    );
  }
  const isr = p.isr.filter((id) => id !== p.leader && brokers.isAlive(id));
  const leaderEpoch = p.leaderEpoch + 1;
  return {
    state: {
      ...p,
      replicas: [...p.replicas],
      leader: successor,
      leaderEpoch,
      isr,
      partitionEpoch: p.partitionEpoch + 1,
      changedAtMs: nowMs,
    },
    note:
      `${key}: leader ${p.leader} stepped down (${request.reason}); broker ${successor} elected leader ` +
      `in epoch ${leaderEpoch}, ISR [${isr}]`,
  };
}

/** Only the current leader, in its current epoch, may ask for a change: anyone else is fenced. */
function requireCurrentLeader(
  p: Readonly<PartitionState>,
  request: { brokerId: number; leaderEpoch: number },
  what: string,
): void {
  if (request.brokerId === p.leader && request.leaderEpoch === p.leaderEpoch) return;
  throw new BrokerError(
    BrokerResponseCode.FENCED_LEADER_EPOCH,
    `${p.topic}-${p.partition}: ${what} from broker ${request.brokerId} in epoch ${request.leaderEpoch}, ` +
      `but the leader is ${p.leader} in epoch ${p.leaderEpoch}`,
  );
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}
