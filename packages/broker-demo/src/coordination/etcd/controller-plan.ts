import { type BrokerLiveness, electLeader, successorOf } from '../../controller/partition-rules.js';
import { NO_LEADER } from '../../protocol/codes.js';
import type { EtcdClusterState } from './etcd-cluster-state.js';
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
 * writes lost a race, finds the same work from the state alone. Pure.
 *
 * Per partition, as Kafka's controller does on broker changes:
 * - a new topic's partition gets its first leader (the first live replica)
 *   and an ISR of its live replicas;
 * - a leader whose registration is gone, or was made again under a new broker
 *   epoch (a restarted process), is replaced by the election rule (from the
 *   ISR; unclean only if the cluster allows it), in a new leader epoch;
 * - a leaderless partition is elected again once an eligible replica lives;
 * - dead followers leave the ISR (the leader stays in it);
 * - a leader's request to step down is granted to the next ISR member, or refused.
 */
export function planControllerChanges(state: EtcdClusterState, controllerEpoch: number): PlannedChange[] {
  const changes: PlannedChange[] = [];
  const alive = (id: number) => state.brokers.has(id);
  const everyone: BrokerLiveness = { alive, electable: alive };
  const brokerEpochOf = (id: number) => state.brokers.get(id)?.brokerEpoch ?? 0;
  const unclean = state.clusterConfig().uncleanLeaderElection;

  for (const { topic, partition, replicas, state: current } of state.partitions()) {
    const key = `${topic}-${partition}`;
    if (current === null) {
      const live = replicas.filter(alive);
      const leader = live[0];
      if (leader === undefined) continue;
      changes.push({
        topic,
        partition,
        expectedModRevision: 0,
        next: {
          leader,
          leaderEpoch: 0,
          partitionEpoch: 0,
          isr: live,
          controllerEpoch,
          leaderBrokerEpoch: brokerEpochOf(leader),
        },
        leaderRegistration: { brokerId: leader, brokerEpoch: brokerEpochOf(leader) },
        reason: `${key} created: broker ${leader} leads epoch 0, ISR [${live}]`,
      });
      continue;
    }
    const s = current.record;
    const base = { topic, partition, expectedModRevision: current.modRevision };
    const leaderGone =
      s.leader !== NO_LEADER && (!alive(s.leader) || brokerEpochOf(s.leader) !== s.leaderBrokerEpoch);
    if (leaderGone || s.leader === NO_LEADER) {
      // A restarted leader is treated as dead at this instant (Kafka's bounced
      // broker): another ISR member takes over; if none can, the partition goes
      // offline and the restarted broker is elected on the next pass.
      const liveness: BrokerLiveness = leaderGone
        ? { alive: (id) => id !== s.leader && alive(id), electable: (id) => id !== s.leader && alive(id) }
        : everyone;
      const outcome = electLeader({ replicas, isr: s.isr }, liveness, unclean);
      if (outcome.leader === s.leader) continue;
      const why = leaderGone
        ? alive(s.leader)
          ? `leader ${s.leader} registered again (restarted)`
          : `leader ${s.leader}'s session ended`
        : 'an eligible replica is alive again';
      changes.push({
        ...base,
        next: {
          leader: outcome.leader,
          leaderEpoch: s.leaderEpoch + 1,
          partitionEpoch: s.partitionEpoch + 1,
          isr: outcome.isr,
          controllerEpoch,
          leaderBrokerEpoch: outcome.leader === NO_LEADER ? 0 : brokerEpochOf(outcome.leader),
        },
        ...(outcome.leader === NO_LEADER
          ? {}
          : { leaderRegistration: { brokerId: outcome.leader, brokerEpoch: brokerEpochOf(outcome.leader) } }),
        reason:
          outcome.leader === NO_LEADER
            ? `${key}: ${why}; no eligible leader, partition offline (ISR [${outcome.isr}])`
            : `${key}: ${why}; ${outcome.kind === 'unclean' ? 'UNCLEAN election (records may be lost): ' : ''}` +
              `broker ${outcome.leader} elected leader in epoch ${s.leaderEpoch + 1}, ISR [${outcome.isr}]`,
      });
      continue;
    }
    const deadFollowers = s.isr.filter((id) => id !== s.leader && !alive(id));
    if (deadFollowers.length > 0) {
      const isr = s.isr.filter((id) => !deadFollowers.includes(id));
      changes.push({
        ...base,
        next: { ...s, isr, partitionEpoch: s.partitionEpoch + 1 },
        reason: `${key}: dead broker(s) [${deadFollowers}] removed from the ISR -> [${isr}]`,
      });
      continue;
    }
    const request = state.resignations.get(key);
    if (request === undefined) continue;
    const resignation = { key: state.keys.resignation(topic, partition), modRevision: request.modRevision };
    const r = request.record;
    const handover =
      r.brokerId === s.leader && r.leaderEpoch === s.leaderEpoch
        ? successorOf({ replicas, isr: s.isr, leader: s.leader }, everyone)
        : null;
    if (handover === null) {
      changes.push({
        ...base,
        next: null,
        resignation,
        reason:
          `${key}: broker ${r.brokerId} asked to step down in epoch ${r.leaderEpoch} (${r.reason}); refused: ` +
          (r.brokerId === s.leader && r.leaderEpoch === s.leaderEpoch
            ? `no other live ISR member can lead (ISR [${s.isr}])`
            : `the leader is ${s.leader} in epoch ${s.leaderEpoch}`),
      });
      continue;
    }
    changes.push({
      ...base,
      next: {
        leader: handover.leader,
        leaderEpoch: s.leaderEpoch + 1,
        partitionEpoch: s.partitionEpoch + 1,
        isr: handover.isr,
        controllerEpoch,
        leaderBrokerEpoch: brokerEpochOf(handover.leader),
      },
      resignation,
      leaderRegistration: { brokerId: handover.leader, brokerEpoch: brokerEpochOf(handover.leader) },
      reason:
        `${key}: leader ${s.leader} stepped down (${r.reason}); broker ${handover.leader} elected leader ` +
        `in epoch ${s.leaderEpoch + 1}, ISR [${handover.isr}]`,
    });
  }
  return changes;
}
