import {
  type BrokerLiveness,
  type Decision,
  electLeader,
  firstState,
  removeFromIsr,
  resignLeadership,
} from '../../controller/partition-rules.js';
import { NO_LEADER } from '../../protocol/codes.js';
import { type EtcdClusterState, toPartitionState, toStateRecord } from './etcd-cluster-state.js';
import type { PartitionStateRecord } from './etcd-records.js';

/**
 * One change the controller makes to a partition's state, as a
 * compare-and-swap: it applies only if the state key is still at
 * `expectedModRevision` (0: the key must not exist yet) and, when a leader is
 * elected, only if that broker is still registered under `leaderBrokerEpoch`.
 */
export interface PlannedChange {
  topic: string;
  partition: number;
  expectedModRevision: number;
  /** The new state, or null when only a resignation request is answered (refused). */
  next: PartitionStateRecord | null;
  /** A leader's resignation request this change answers: deleted in the same transaction. */
  resignation?: { key: string; modRevision: number };
  /** The elected leader's registration must still have this create revision. */
  leaderRegistration?: { brokerId: number; brokerEpoch: number };
  /** For the controller's log. */
  reason: string;
}

/**
 * What the controller should change, given the cluster as etcd has it:
 * level-triggered, so a controller that just took over, or one whose earlier
 * writes lost a race, finds the same work from the state alone. Pure; the
 * rules are the built-in controller's (partition-rules.ts), applied to the
 * state read from etcd.
 *
 * Per partition, as Kafka's controller does on broker changes:
 * - a new topic's partition gets its first state (`firstState`: the first
 *   live replica leads, the live replicas form the ISR);
 * - a leader whose registration is gone, or was made again under a new broker
 *   epoch (a restarted process), is replaced by the election rule (from the
 *   ISR; unclean only if the cluster allows it), in a new leader epoch;
 * - a leaderless partition is elected again once an eligible replica lives;
 * - dead followers leave the ISR (`removeFromIsr`);
 * - a leader's request to step down is granted to the next ISR member, or refused.
 */
export function planControllerChanges(
  state: EtcdClusterState,
  controllerEpoch: number,
  nowMs: number,
): PlannedChange[] {
  const changes: PlannedChange[] = [];
  const alive = (id: number) => state.brokers.has(id);
  // A registration is a live session, confirmed by etcd: nobody is merely presumed alive here.
  const registered: BrokerLiveness = { isAlive: alive, isPresumed: () => false };
  const brokerEpochOf = (id: number) => state.brokers.get(id)?.brokerEpoch ?? 0;
  const unclean = state.clusterConfig().uncleanLeaderElection;
  /**
   * The record of an election (a new leader, or none): stamped with this
   * controller's epoch and the leader's broker epoch, and written only while
   * the elected leader is still registered under it.
   */
  const elected = (decision: Decision) => {
    const leader = decision.state.leader;
    const leaderBrokerEpoch = leader === NO_LEADER ? 0 : brokerEpochOf(leader);
    return {
      next: toStateRecord(decision.state, { controllerEpoch, leaderBrokerEpoch }),
      ...(leader === NO_LEADER
        ? {}
        : { leaderRegistration: { brokerId: leader, brokerEpoch: leaderBrokerEpoch } }),
      reason: decision.note,
    };
  };

  for (const { topic, partition, replicas, state: current } of state.partitions()) {
    const key = `${topic}-${partition}`;
    if (current === null) {
      const first = firstState({ topic, partition, replicas }, registered, nowMs);
      if (first === null) continue;
      changes.push({
        topic,
        partition,
        expectedModRevision: 0,
        ...elected({
          state: first,
          note: `${key} created: broker ${first.leader} leads epoch 0, ISR [${first.isr}]`,
        }),
      });
      continue;
    }
    const s = current.record;
    const p = toPartitionState(topic, partition, replicas, s, undefined);
    const base = { topic, partition, expectedModRevision: current.modRevision };
    const leaderGone =
      s.leader !== NO_LEADER && (!alive(s.leader) || brokerEpochOf(s.leader) !== s.leaderBrokerEpoch);
    if (leaderGone || s.leader === NO_LEADER) {
      // A restarted leader is treated as dead at this instant (Kafka's bounced
      // broker): another ISR member takes over; if none can, the partition goes
      // offline and the restarted broker is elected on the next pass.
      const liveness: BrokerLiveness = leaderGone
        ? { isAlive: (id) => id !== s.leader && alive(id), isPresumed: () => false }
        : registered;
      const why = leaderGone
        ? alive(s.leader)
          ? `leader ${s.leader} registered again (restarted)`
          : `leader ${s.leader}'s session ended`
        : 'an eligible replica is alive again';
      const decision = electLeader(p, liveness, unclean, why, nowMs);
      if (decision === null || decision.state.leader === s.leader) continue;
      changes.push({ ...base, ...elected(decision) });
      continue;
    }
    const shrink = removeFromIsr(
      p,
      s.isr.filter((id) => !alive(id)),
      nowMs,
    );
    if (shrink !== null) {
      // The same leader in the same epoch: the stamps of its election stay.
      changes.push({ ...base, next: toStateRecord(shrink.state, s), reason: shrink.note });
      continue;
    }
    const request = state.resignations.get(key);
    if (request === undefined) continue;
    const resignation = { key: state.keys.resignation(topic, partition), modRevision: request.modRevision };
    const r = request.record;
    let handover: Decision;
    try {
      handover = resignLeadership(p, { topic, partition, ...r }, registered, nowMs);
    } catch (err) {
      changes.push({
        ...base,
        next: null,
        resignation,
        reason:
          `${key}: broker ${r.brokerId} asked to step down in epoch ${r.leaderEpoch} (${r.reason}); ` +
          `refused: ${(err as Error).message}`,
      });
      continue;
    }
    changes.push({ ...base, ...elected(handover), resignation });
  }
  return changes;
}
