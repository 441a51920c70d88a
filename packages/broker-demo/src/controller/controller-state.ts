import type {
  BrokerInfo,
  ClusterConfig,
  ClusterSnapshot,
  PartitionState,
} from '../protocol/cluster-state.js';
import { BrokerResponseCode, NO_LEADER } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import {
  assignReplicas,
  type BrokerLiveness,
  checkIsrProposal,
  electLeader,
  successorOf,
} from './partition-rules.js';

export interface BrokerRegistration {
  id: number;
  host: string;
  port: number;
  incarnation: string;
  lastHeartbeatMs: number;
  alive: boolean;
  /**
   * Restored as alive by a restarted controller and not heard from since:
   * it keeps its place (ISR, leadership) until its session lapses, but is not
   * elected, since it may have died while the controller was down.
   */
  presumed: boolean;
}

/** What the controller keeps on disk: enough to resume its decisions after a restart. */
export interface PersistedControllerState {
  version: number;
  controller: { host: string; port: number };
  brokers: Array<{ id: number; host: string; port: number; incarnation: string; alive: boolean }>;
  partitions: PartitionState[];
}

export interface AlterIsrRequest {
  brokerId: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
}

/**
 * The controller's decisions, kept pure (time is an argument) so the
 * election and ISR rules are unit-tested without processes. Every change
 * bumps `version`; the caller pushes the new snapshot to the brokers.
 */
export class ControllerState {
  readonly config: ClusterConfig;
  private readonly controllerAddress: { host: string; port: number };
  private readonly brokers = new Map<number, BrokerRegistration>();
  private readonly partitions = new Map<string, PartitionState>();
  private versionCounter = 0;
  /** What happened, for the controller's log. */
  readonly events: string[] = [];

  constructor(config: ClusterConfig, controllerAddress: { host: string; port: number }) {
    this.config = config;
    this.controllerAddress = controllerAddress;
  }

  /**
   * A controller restarted from its persisted state. Every broker that was
   * alive is presumed alive, its session starting now: each gets a full
   * session timeout to heartbeat before it is declared dead, so a restart by
   * itself never moves a leadership or shrinks an ISR. Brokers that really died
   * meanwhile expire then, and their partitions fail over as usual.
   */
  static restore(config: ClusterConfig, persisted: PersistedControllerState, nowMs: number): ControllerState {
    const state = new ControllerState(config, persisted.controller);
    state.versionCounter = persisted.version;
    for (const b of persisted.brokers)
      state.brokers.set(b.id, { ...b, lastHeartbeatMs: nowMs, presumed: b.alive });
    for (const p of persisted.partitions) {
      state.partitions.set(`${p.topic}-${p.partition}`, { ...p, isr: [...p.isr], replicas: [...p.replicas] });
    }
    const alive = persisted.brokers.filter((b) => b.alive).map((b) => b.id);
    state.note(
      `restored state version ${persisted.version}: ${persisted.partitions.length} partition(s), ` +
        `brokers [${alive}] presumed alive until their sessions lapse`,
    );
    // Past every version any broker may hold, so what this controller pushes next is applied.
    state.bump();
    return state;
  }

  /** The state to persist: everything but heartbeat times. */
  persisted(): PersistedControllerState {
    return {
      version: this.versionCounter,
      controller: { ...this.controllerAddress },
      brokers: [...this.brokers.values()].map(({ id, host, port, incarnation, alive }) => ({
        id,
        host,
        port,
        incarnation,
        alive,
      })),
      partitions: [...this.partitions.values()].map((p) => ({
        ...p,
        isr: [...p.isr],
        replicas: [...p.replicas],
      })),
    };
  }

  get version(): number {
    return this.versionCounter;
  }

  broker(id: number): Readonly<BrokerRegistration> | undefined {
    return this.brokers.get(id);
  }

  aliveBrokerIds(): number[] {
    return [...this.brokers.values()].filter((b) => b.alive).map((b) => b.id);
  }

  partition(topic: string, partition: number): Readonly<PartitionState> | undefined {
    return this.partitions.get(`${topic}-${partition}`);
  }

  hasTopic(topic: string): boolean {
    return [...this.partitions.values()].some((p) => p.topic === topic);
  }

  /**
   * A heartbeat. The first one registers the broker; one with a new
   * incarnation is a restart, handled as a death and then a birth (as Kafka's
   * controller handles a bounced broker), so the restarted process never
   * resumes a leadership it may no longer deserve.
   */
  heartbeat(id: number, incarnation: string, host: string, port: number, nowMs: number): void {
    const known = this.brokers.get(id);
    if (known !== undefined && known.incarnation === incarnation && known.alive) {
      known.lastHeartbeatMs = nowMs;
      if (known.presumed) {
        known.presumed = false;
        this.note(`broker ${id} heartbeated: confirmed alive after the controller restart`);
        this.onBrokerUp(id);
      }
      return;
    }
    if (known?.alive) {
      this.note(`broker ${id} restarted (new incarnation)`);
      known.alive = false;
      this.onBrokerDown(id);
    }
    this.brokers.set(id, {
      id,
      host,
      port,
      incarnation,
      lastHeartbeatMs: nowMs,
      alive: true,
      presumed: false,
    });
    this.note(`broker ${id} is up at ${host}:${port}`);
    this.bump();
    this.onBrokerUp(id);
  }

  /** Marks brokers whose session lapsed as dead and moves their leaderships. Returns true if anything changed. */
  expireSessions(nowMs: number, sessionTimeoutMs: number): boolean {
    let changed = false;
    for (const b of this.brokers.values()) {
      if (!b.alive || nowMs - b.lastHeartbeatMs <= sessionTimeoutMs) continue;
      b.alive = false;
      this.note(`broker ${b.id} missed heartbeats for ${nowMs - b.lastHeartbeatMs} ms: session expired`);
      this.bump();
      this.onBrokerDown(b.id);
      changed = true;
    }
    return changed;
  }

  /** Creates a topic, replicas assigned round-robin over the live brokers (Kafka's default assignment). */
  createTopic(topic: string, partitionCount: number, replicationFactor: number): void {
    if (this.hasTopic(topic)) return;
    const assignment = assignReplicas(topic, this.aliveBrokerIds(), partitionCount, replicationFactor);
    assignment.forEach((replicas, p) => {
      this.partitions.set(`${topic}-${p}`, {
        topic,
        partition: p,
        replicas,
        leader: replicas[0]!,
        leaderEpoch: 0,
        isr: [...replicas],
        partitionEpoch: 0,
      });
    });
    this.note(`created ${topic}: ${partitionCount} partition(s), replication factor ${replicationFactor}`);
    this.bump();
  }

  /**
   * A leader's ISR proposal. Accepted only from the current leader in its
   * current epoch, computed from the current ISR version, and only adding
   * live brokers; anything else is a stale or fenced leader talking.
   */
  alterIsr(request: AlterIsrRequest): PartitionState {
    const key = `${request.topic}-${request.partition}`;
    const p = this.partitions.get(key);
    if (p === undefined) {
      throw new BrokerError(BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION, `${key} does not exist`);
    }
    const isr = checkIsrProposal(p, request, (id) => this.brokers.get(id)?.alive === true);
    this.note(`${key}: ISR [${p.isr}] -> [${isr}] (from leader ${p.leader})`);
    p.isr = isr;
    p.partitionEpoch++;
    this.bump();
    return { ...p, isr: [...p.isr], replicas: [...p.replicas] };
  }

  /**
   * A leader that found its own log damaged asks to step down. Granted only
   * to the current leader in its epoch, and only when another live ISR member
   * can take over: that member becomes leader in a new epoch and the damaged
   * replica leaves the ISR (it rejoins once it has re-fetched). With no such
   * member the request is refused and the leader stays, serving what it can.
   */
  resignLeadership(request: {
    brokerId: number;
    topic: string;
    partition: number;
    leaderEpoch: number;
    reason: string;
  }): PartitionState {
    const key = `${request.topic}-${request.partition}`;
    const p = this.partitions.get(key);
    if (p === undefined) {
      throw new BrokerError(BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION, `${key} does not exist`);
    }
    if (request.brokerId !== p.leader || request.leaderEpoch !== p.leaderEpoch) {
      throw new BrokerError(
        BrokerResponseCode.FENCED_LEADER_EPOCH,
        `${key}: resignation from broker ${request.brokerId} in epoch ${request.leaderEpoch}, ` +
          `but the leader is ${p.leader} in epoch ${p.leaderEpoch}`,
      );
    }
    const handover = successorOf(p, this.liveness());
    if (handover === null) {
      throw new BrokerError(
        BrokerResponseCode.NOT_ENOUGH_REPLICAS,
        `${key}: leader ${p.leader} asked to step down (${request.reason}) but no other live ISR member ` +
          `can lead (ISR [${p.isr}]); it stays leader`,
      );
    }
    const resigned = p.leader;
    p.isr = handover.isr;
    p.leader = handover.leader;
    p.leaderEpoch++;
    p.partitionEpoch++;
    this.note(
      `${key}: leader ${resigned} stepped down (${request.reason}); broker ${p.leader} elected leader ` +
        `in epoch ${p.leaderEpoch}, ISR [${p.isr}]`,
    );
    this.bump();
    return { ...p, isr: [...p.isr], replicas: [...p.replicas] };
  }

  snapshot(): ClusterSnapshot {
    const brokers: BrokerInfo[] = [...this.brokers.values()]
      .sort((a, b) => a.id - b.id)
      .map((b) => ({ id: b.id, host: b.host, port: b.port, alive: b.alive }));
    return {
      version: this.versionCounter,
      controller: this.controllerAddress,
      config: this.config,
      brokers,
      partitions: [...this.partitions.values()].map((p) => ({
        ...p,
        isr: [...p.isr],
        replicas: [...p.replicas],
      })),
    };
  }

  private onBrokerDown(id: number): void {
    for (const p of this.partitions.values()) {
      if (p.leader === id) this.elect(p, `leader ${id} died`);
      else if (p.isr.includes(id) && p.isr.length > 1) {
        p.isr = p.isr.filter((x) => x !== id);
        p.partitionEpoch++;
        this.note(`${p.topic}-${p.partition}: dead broker ${id} removed from ISR -> [${p.isr}]`);
      }
    }
    this.bump();
  }

  private onBrokerUp(id: number): void {
    for (const p of this.partitions.values()) {
      if (p.leader === NO_LEADER && p.replicas.includes(id)) this.elect(p, `broker ${id} came back`);
    }
    this.bump();
  }

  /**
   * Leader election: the first live ISR member in replica order (not one a
   * restarted controller merely presumes alive: see `presumed`). With none,
   * and unclean election enabled, the first live replica, whose log may lack
   * acknowledged records; otherwise the partition stays offline, keeping its
   * last ISR so that member can lead again when it returns.
   */
  private elect(p: PartitionState, why: string): void {
    const key = `${p.topic}-${p.partition}`;
    const outcome = electLeader(p, this.liveness(), this.config.uncleanLeaderElection);
    if (outcome.kind === 'clean' || outcome.kind === 'waiting') p.isr = outcome.isr;
    // ISR members a restarted controller has not heard from yet may well be
    // alive: wait for one to heartbeat (or for their sessions to lapse)
    // rather than electing anyone else; the dead one leaves the ISR.
    if (outcome.kind === 'waiting')
      why = `${why}; waiting for ISR member(s) [${outcome.awaited}] to heartbeat`;
    if (outcome.kind === 'unclean') {
      p.isr = outcome.isr;
      this.note(
        `${key}: UNCLEAN election of broker ${outcome.leader} (no live ISR member; records may be lost)`,
      );
    }
    const leader = outcome.leader;
    if (leader === p.leader) return;
    p.leader = leader;
    p.leaderEpoch++;
    p.partitionEpoch++;
    this.note(
      leader === NO_LEADER
        ? `${key}: ${why}; no eligible leader, partition offline (ISR [${p.isr}])`
        : `${key}: ${why}; broker ${leader} elected leader in epoch ${p.leaderEpoch}, ISR [${p.isr}]`,
    );
  }

  /** Alive = heartbeating; electable = alive and not merely presumed so after a restart (see `presumed`). */
  private liveness(): BrokerLiveness {
    return {
      alive: (id) => this.brokers.get(id)?.alive === true,
      electable: (id) => {
        const b = this.brokers.get(id);
        return b?.alive === true && !b.presumed;
      },
    };
  }

  private bump(): void {
    this.versionCounter++;
  }

  private note(event: string): void {
    this.events.push(event);
  }
}
