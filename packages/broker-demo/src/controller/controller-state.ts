import {
  type BrokerInfo,
  type ClusterConfig,
  type ClusterSnapshot,
  type PartitionState,
  type TopicSpec,
  topicAlreadyExists,
} from '../protocol/cluster-state.js';
import { BrokerResponseCode, NO_LEADER } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import {
  type BrokerLiveness,
  changeIsr,
  type Decision,
  electLeader,
  type IsrChangeRequest,
  newTopicPartitions,
  onBrokerDeath,
  type ResignationByBroker,
  resignLeadership,
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
  /** Wall-clock ms when `alive` last changed. */
  changedAtMs?: number;
}

/** What the controller keeps on disk: enough to resume its decisions after a restart. */
export interface PersistedControllerState {
  version: number;
  controller: { host: string; port: number };
  brokers: Array<{
    id: number;
    host: string;
    port: number;
    incarnation: string;
    alive: boolean;
    changedAtMs?: number;
  }>;
  partitions: PartitionState[];
}

/** A leader's ISR proposal as the controller receives it (who sent it, and the proposal). */
export type AlterIsrRequest = IsrChangeRequest;

/**
 * The controller's decisions, kept pure (time is an argument) so the
 * election and ISR rules are unit-tested without processes. The rules
 * themselves are partition-rules.ts; this class keeps the broker registry
 * and the partitions they apply to. Every change bumps `version`; the caller
 * pushes the new snapshot to the brokers.
 */
export class ControllerState {
  readonly config: ClusterConfig;
  private readonly controllerAddress: { host: string; port: number };
  private readonly brokers = new Map<number, BrokerRegistration>();
  private readonly partitions = new Map<string, PartitionState>();
  private versionCounter = 0;
  /** What happened, for the controller's log. */
  readonly events: string[] = [];
  private readonly liveness: BrokerLiveness = {
    isAlive: (id) => this.brokers.get(id)?.alive === true,
    isPresumed: (id) => this.brokers.get(id)?.presumed === true,
  };

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
      brokers: [...this.brokers.values()].map(({ id, host, port, incarnation, alive, changedAtMs }) => ({
        id,
        host,
        port,
        incarnation,
        alive,
        ...(changedAtMs === undefined ? {} : { changedAtMs }),
      })),
      partitions: [...this.partitions.values()].map(copyPartition),
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
        this.onBrokerUp(id, nowMs);
      }
      return;
    }
    if (known?.alive) {
      this.note(`broker ${id} restarted (new incarnation)`);
      known.alive = false;
      known.changedAtMs = nowMs;
      this.onBrokerDown(id, nowMs);
    }
    this.brokers.set(id, {
      id,
      host,
      port,
      incarnation,
      lastHeartbeatMs: nowMs,
      alive: true,
      presumed: false,
      changedAtMs: nowMs,
    });
    this.note(`broker ${id} is up at ${host}:${port}`);
    this.bump();
    this.onBrokerUp(id, nowMs);
  }

  /** Marks brokers whose session lapsed as dead and moves their leaderships. Returns true if anything changed. */
  expireSessions(nowMs: number, sessionTimeoutMs: number): boolean {
    let changed = false;
    for (const b of this.brokers.values()) {
      if (!b.alive || nowMs - b.lastHeartbeatMs <= sessionTimeoutMs) continue;
      b.alive = false;
      b.changedAtMs = nowMs;
      this.note(`broker ${b.id} missed heartbeats for ${nowMs - b.lastHeartbeatMs} ms: session expired`);
      this.bump();
      this.onBrokerDown(b.id, nowMs);
      changed = true;
    }
    return changed;
  }

  /**
   * Creates a topic (Kafka's CreateTopics): replicas assigned round-robin
   * over the live brokers. Refused with TOPIC_ALREADY_EXISTS if it exists,
   * and with the rule's error for a bad name, partition count or replication
   * factor; nothing changes then.
   */
  createTopic(spec: TopicSpec, nowMs: number): PartitionState[] {
    if (this.hasTopic(spec.topic)) throw topicAlreadyExists(spec.topic);
    const created = newTopicPartitions(spec, this.aliveBrokerIds(), nowMs);
    for (const p of created) this.partitions.set(`${p.topic}-${p.partition}`, p);
    this.note(
      `created ${spec.topic}: ${spec.partitions} partition(s), replication factor ${spec.replicationFactor}` +
        (spec.minInsyncReplicas === undefined ? '' : `, min.insync.replicas ${spec.minInsyncReplicas}`),
    );
    this.bump();
    return created.map(copyPartition);
  }

  /** A leader's ISR proposal, decided by `changeIsr`; throws its refusal. */
  alterIsr(request: AlterIsrRequest, nowMs: number): PartitionState {
    return this.decide(request, (p) => changeIsr(p, request, this.liveness, nowMs));
  }

  /** A leader that found its own log damaged asks to step down, decided by `resignLeadership`. */
  resignLeadership(request: ResignationByBroker, nowMs: number): PartitionState {
    return this.decide(request, (p) => resignLeadership(p, request, this.liveness, nowMs));
  }

  private decide(
    at: { topic: string; partition: number },
    rule: (p: PartitionState) => Decision,
  ): PartitionState {
    const key = `${at.topic}-${at.partition}`;
    const p = this.partitions.get(key);
    if (p === undefined) {
      throw new BrokerError(BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION, `${key} does not exist`);
    }
    const decision = rule(p);
    this.apply(decision);
    this.bump();
    return copyPartition(decision.state);
  }

  snapshot(): ClusterSnapshot {
    const brokers: BrokerInfo[] = [...this.brokers.values()]
      .sort((a, b) => a.id - b.id)
      .map((b) => ({
        id: b.id,
        host: b.host,
        port: b.port,
        alive: b.alive,
        ...(b.changedAtMs === undefined ? {} : { changedAtMs: b.changedAtMs }),
      }));
    return {
      version: this.versionCounter,
      controller: this.controllerAddress,
      config: this.config,
      brokers,
      partitions: [...this.partitions.values()].map(copyPartition),
    };
  }

  private onBrokerDown(id: number, nowMs: number): void {
    for (const p of this.partitions.values()) {
      const decision = onBrokerDeath(p, id, this.liveness, this.config.uncleanLeaderElection, nowMs);
      if (decision !== null) this.apply(decision);
    }
    this.bump();
  }

  private onBrokerUp(id: number, nowMs: number): void {
    for (const p of this.partitions.values()) {
      if (p.leader !== NO_LEADER || !p.replicas.includes(id)) continue;
      const decision = electLeader(
        p,
        this.liveness,
        this.config.uncleanLeaderElection,
        `broker ${id} came back`,
        nowMs,
      );
      if (decision !== null) this.apply(decision);
    }
    this.bump();
  }

  private apply(decision: Decision): void {
    const { state } = decision;
    this.partitions.set(`${state.topic}-${state.partition}`, state);
    this.note(decision.note);
  }

  private bump(): void {
    this.versionCounter++;
  }

  private note(event: string): void {
    this.events.push(event);
  }
}

function copyPartition(p: Readonly<PartitionState>): PartitionState {
  return { ...p, isr: [...p.isr], replicas: [...p.replicas] };
}
