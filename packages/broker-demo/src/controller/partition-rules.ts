import { BrokerResponseCode, NO_LEADER } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';

/**
 * The election and ISR rules every controller applies, whatever keeps the
 * state: the built-in controller process (controller-state.ts) and the
 * etcd-coordinated cluster (coordination/etcd/controller-plan.ts). Pure: the
 * caller says which brokers are alive and applies the outcome.
 */

/** What a controller knows of a broker's liveness when it decides. */
export interface BrokerLiveness {
  /** Its session is alive (heartbeats, or a registration under a live lease). */
  alive(id: number): boolean;
  /**
   * It may be elected: alive and confirmed so. The built-in controller, just
   * restarted, presumes brokers alive that it has not heard from yet; those
   * keep their place but are not elected.
   */
  electable(id: number): boolean;
}

/** The part of a partition's state an election looks at. */
export interface ElectionInput {
  replicas: readonly number[];
  isr: readonly number[];
}

/**
 * Leader election: the first electable ISR member in replica order. With
 * none, ISR members still presumed alive are waited for; with none of those
 * either and unclean election enabled, the first electable replica leads with
 * an ISR of itself (its log may lack acknowledged records); otherwise no
 * leader, and the ISR is kept so a returning member can lead cleanly.
 */
export type ElectionOutcome =
  | { kind: 'clean'; leader: number; isr: number[] }
  | { kind: 'waiting'; leader: typeof NO_LEADER; isr: number[]; awaited: number[] }
  | { kind: 'unclean'; leader: number; isr: number[] }
  | { kind: 'offline'; leader: typeof NO_LEADER; isr: number[] };

export function electLeader(p: ElectionInput, brokers: BrokerLiveness, unclean: boolean): ElectionOutcome {
  const alive = (id: number) => brokers.alive(id);
  const clean = p.replicas.find((id) => p.isr.includes(id) && brokers.electable(id));
  if (clean !== undefined) return { kind: 'clean', leader: clean, isr: p.isr.filter(alive) };
  const awaited = p.isr.filter((id) => alive(id) && !brokers.electable(id));
  if (awaited.length > 0) return { kind: 'waiting', leader: NO_LEADER, isr: p.isr.filter(alive), awaited };
  if (unclean) {
    const anyLive = p.replicas.find((id) => brokers.electable(id));
    if (anyLive !== undefined) return { kind: 'unclean', leader: anyLive, isr: [anyLive] };
  }
  return { kind: 'offline', leader: NO_LEADER, isr: [...p.isr] };
}

/** The current state an ISR proposal is checked against. */
export interface IsrProposalTarget {
  topic: string;
  partition: number;
  replicas: readonly number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: readonly number[];
}

/**
 * Checks a leader's ISR proposal (Kafka's AlterPartition): only from the
 * current leader in its current epoch, made from the current partition epoch,
 * holding the leader, and adding only live replicas. Returns the ISR to
 * commit (duplicates removed).
 * @throws BrokerError FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION or INVALID_REQUEST
 */
export function checkIsrProposal(
  p: IsrProposalTarget,
  proposal: { brokerId: number; leaderEpoch: number; partitionEpoch: number; isr: readonly number[] },
  alive: (id: number) => boolean,
): number[] {
  const key = `${p.topic}-${p.partition}`;
  if (proposal.brokerId !== p.leader || proposal.leaderEpoch !== p.leaderEpoch) {
    throw new BrokerError(
      BrokerResponseCode.FENCED_LEADER_EPOCH,
      `${key}: ISR change from broker ${proposal.brokerId} in epoch ${proposal.leaderEpoch}, ` +
        `but the leader is ${p.leader} in epoch ${p.leaderEpoch}`,
    );
  }
  if (proposal.partitionEpoch !== p.partitionEpoch) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_UPDATE_VERSION,
      `${key}: ISR change based on partition epoch ${proposal.partitionEpoch}, current is ${p.partitionEpoch}`,
    );
  }
  const isr = [...new Set(proposal.isr)];
  const invalid = isr.filter((id) => !p.replicas.includes(id) || (!p.isr.includes(id) && !alive(id)));
  if (!isr.includes(p.leader) || invalid.length > 0) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REQUEST,
      `${key}: proposed ISR [${isr}] must hold the leader and only live replicas (rejected: [${invalid}])`,
    );
  }
  return isr;
}

/**
 * A leader that asks to step down hands over to the first other electable
 * ISR member in replica order; it leaves the ISR (it rejoins once it has
 * fetched again), and so do dead members. Null when nobody can take over.
 */
export function successorOf(
  p: ElectionInput & { leader: number },
  brokers: BrokerLiveness,
): { leader: number; isr: number[] } | null {
  const successor = p.replicas.find((id) => id !== p.leader && p.isr.includes(id) && brokers.electable(id));
  if (successor === undefined) return null;
  return { leader: successor, isr: p.isr.filter((id) => id !== p.leader && brokers.alive(id)) };
}

/**
 * Kafka's default assignment, round-robin over the live brokers in id order:
 * partition p's replicas start at the p-th broker, so leaderships spread.
 * @throws BrokerError NOT_ENOUGH_REPLICAS when fewer brokers are alive than the replication factor
 */
export function assignReplicas(
  topic: string,
  liveBrokerIds: readonly number[],
  partitionCount: number,
  replicationFactor: number,
): number[][] {
  const live = [...liveBrokerIds].sort((a, b) => a - b);
  if (live.length < replicationFactor) {
    throw new BrokerError(
      BrokerResponseCode.NOT_ENOUGH_REPLICAS,
      `cannot create ${topic} with replication factor ${replicationFactor}: ${live.length} broker(s) alive`,
    );
  }
  const assignment: number[][] = [];
  for (let p = 0; p < partitionCount; p++) {
    const replicas: number[] = [];
    for (let r = 0; r < replicationFactor; r++) replicas.push(live[(p + r) % live.length]!);
    assignment.push(replicas);
  }
  return assignment;
}
