import type {
  BrokerInfo,
  ClusterConfig,
  ClusterSnapshot,
  PartitionState,
} from '../../protocol/cluster-state.js';
import {
  type BrokerRegistrationRecord,
  type ControllerEpochRecord,
  decodeBrokerRegistration,
  decodeClusterConfig,
  decodeControllerEpoch,
  decodePartitionState,
  decodeResignation,
  decodeTopic,
  type EtcdKeyLayout,
  type PartitionStateRecord,
  type ResignationRecord,
  type TopicRecord,
} from './etcd-records.js';

/** A live broker as etcd has it. */
export interface RegisteredBroker {
  record: BrokerRegistrationRecord;
  /** The registration's create revision: changes when the broker registers anew (Kafka's broker epoch). */
  brokerEpoch: number;
  /** The lease the registration lives under (decimal). */
  lease: string;
}

/** A record with the mod revision it was read at: what a compare-and-swap names. */
export interface Versioned<T> {
  record: T;
  modRevision: number;
}

/** One key-value as etcd sends it (a read or a watch event). */
export interface EtcdKeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  lease: string;
}

/** Used when the cluster has no `config` key: Kafka's defaults (one partition, one replica, min.insync.replicas 1) for what `create-topic` leaves out. */
export const DEFAULT_ETCD_CLUSTER_CONFIG: ClusterConfig = {
  minInsyncReplicas: 1,
  uncleanLeaderElection: false,
  defaultPartitions: 1,
  defaultReplicationFactor: 1,
};

/**
 * The cluster's state as read from etcd: every key of the cluster, decoded,
 * with the revisions a compare-and-swap needs. Fed by a full read (`reset`)
 * and then by watch events (`put`, `delete`) in revision order; pure, so the
 * controller's decisions and the snapshot brokers follow are tested without etcd.
 */
export class EtcdClusterState {
  /** The etcd revision this state reflects: no change at or below it is missing. */
  revision = 0;
  readonly brokers = new Map<number, RegisteredBroker>();
  /** Every broker ever seen registered, with the address it had: listed as not alive once gone. */
  private readonly lastKnownAddress = new Map<number, { host: string; port: number }>();
  readonly topics = new Map<string, Versioned<TopicRecord>>();
  readonly partitionStates = new Map<string, Versioned<PartitionStateRecord>>();
  readonly resignations = new Map<string, Versioned<ResignationRecord>>();
  /** Candidates in the controller election: key → broker id and create revision (lowest leads). */
  readonly candidates = new Map<string, { brokerId: number; createRevision: number }>();
  controllerEpoch: Versioned<ControllerEpochRecord> | null = null;
  config: Versioned<ClusterConfig> | null = null;

  constructor(
    readonly keys: EtcdKeyLayout,
    /** Where a key that cannot be decoded is reported (it is then ignored). */
    private readonly onInvalid: (key: string, err: unknown) => void = () => undefined,
  ) {}

  /** Replaces everything with a full read of the cluster's keys taken at `revision`. */
  reset(kvs: readonly EtcdKeyValue[], revision: number): void {
    this.brokers.clear();
    this.topics.clear();
    this.partitionStates.clear();
    this.resignations.clear();
    this.candidates.clear();
    this.controllerEpoch = null;
    this.config = null;
    for (const kv of kvs) this.put(kv);
    this.revision = revision;
  }

  /** A key was written. Returns false for keys this cluster does not use or cannot decode. */
  put(kv: EtcdKeyValue): boolean {
    const parsed = this.keys.parse(kv.key);
    if (parsed === null) return false;
    this.revision = Math.max(this.revision, kv.modRevision);
    try {
      switch (parsed.kind) {
        case 'broker': {
          const record = decodeBrokerRegistration(kv.value, kv.key);
          if (record.id !== parsed.brokerId) throw new Error(`registration names broker ${record.id}`);
          this.brokers.set(parsed.brokerId, { record, brokerEpoch: kv.createRevision, lease: kv.lease });
          this.lastKnownAddress.set(parsed.brokerId, { host: record.host, port: record.port });
          return true;
        }
        case 'topic':
          this.topics.set(parsed.topic, {
            record: decodeTopic(kv.value, kv.key),
            modRevision: kv.modRevision,
          });
          return true;
        case 'partition-state':
          this.partitionStates.set(stateKey(parsed.topic, parsed.partition), {
            record: decodePartitionState(kv.value, kv.key),
            modRevision: kv.modRevision,
          });
          return true;
        case 'resignation':
          this.resignations.set(stateKey(parsed.topic, parsed.partition), {
            record: decodeResignation(kv.value, kv.key),
            modRevision: kv.modRevision,
          });
          return true;
        case 'controller-epoch':
          this.controllerEpoch = {
            record: decodeControllerEpoch(kv.value, kv.key),
            modRevision: kv.modRevision,
          };
          return true;
        case 'config':
          this.config = { record: decodeClusterConfig(kv.value, kv.key), modRevision: kv.modRevision };
          return true;
        case 'election-candidate': {
          const brokerId = Number(kv.value.toString('utf8'));
          if (!Number.isInteger(brokerId)) throw new Error('candidate value is not a broker id');
          this.candidates.set(kv.key, { brokerId, createRevision: kv.createRevision });
          return true;
        }
      }
    } catch (err) {
      this.onInvalid(kv.key, err);
      return false;
    }
  }

  /** A key was deleted (or its lease expired) at `revision`. */
  delete(key: string, revision: number): boolean {
    const parsed = this.keys.parse(key);
    if (parsed === null) return false;
    this.revision = Math.max(this.revision, revision);
    switch (parsed.kind) {
      case 'broker':
        return this.brokers.delete(parsed.brokerId);
      case 'topic':
        return this.topics.delete(parsed.topic);
      case 'partition-state':
        return this.partitionStates.delete(stateKey(parsed.topic, parsed.partition));
      case 'resignation':
        return this.resignations.delete(stateKey(parsed.topic, parsed.partition));
      case 'controller-epoch':
        this.controllerEpoch = null;
        return true;
      case 'config':
        this.config = null;
        return true;
      case 'election-candidate':
        return this.candidates.delete(key);
    }
  }

  /** The broker whose candidate key was created first: the elected controller (etcd's election recipe). */
  get controller(): { brokerId: number; key: string; createRevision: number } | null {
    let best: { brokerId: number; key: string; createRevision: number } | null = null;
    for (const [key, c] of this.candidates)
      if (best === null || c.createRevision < best.createRevision) best = { key, ...c };
    return best;
  }

  /**
   * The controller epoch in force: the recorded one if its holder still holds
   * its election key; null while the elected candidate has not yet claimed
   * its epoch (or nobody is elected).
   */
  get activeControllerEpoch(): ControllerEpochRecord | null {
    const recorded = this.controllerEpoch?.record;
    const elected = this.controller;
    if (recorded === undefined || elected === null) return null;
    return recorded.electionKey === elected.key && recorded.electionRevision === elected.createRevision
      ? recorded
      : null;
  }

  clusterConfig(): ClusterConfig {
    return this.config?.record ?? DEFAULT_ETCD_CLUSTER_CONFIG;
  }

  /** Every partition of every topic, with its state (null until the controller has elected its first leader). */
  partitions(): Array<{
    topic: string;
    partition: number;
    replicas: number[];
    state: Versioned<PartitionStateRecord> | null;
  }> {
    const out: Array<{
      topic: string;
      partition: number;
      replicas: number[];
      state: Versioned<PartitionStateRecord> | null;
    }> = [];
    for (const [topic, t] of [...this.topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      t.record.replicaAssignment.forEach((replicas, partition) => {
        out.push({
          topic,
          partition,
          replicas,
          state: this.partitionStates.get(stateKey(topic, partition)) ?? null,
        });
      });
    }
    return out;
  }

  /**
   * The state brokers follow and clients read (the same shape the built-in
   * controller pushes): version = the etcd revision, so it only grows.
   * Partitions the controller has not initialised yet are left out.
   */
  snapshot(fallbackController: { host: string; port: number }): ClusterSnapshot {
    const elected = this.controller;
    const controllerBroker = elected === null ? undefined : this.brokers.get(elected.brokerId);
    const brokers: BrokerInfo[] = [...this.lastKnownAddress]
      .sort(([a], [b]) => a - b)
      .map(([id, address]) => {
        const live = this.brokers.get(id);
        return live === undefined
          ? { id, host: address.host, port: address.port, alive: false }
          : { id, host: live.record.host, port: live.record.port, alive: true };
      });
    const partitions: PartitionState[] = [];
    for (const p of this.partitions()) {
      if (p.state === null) continue;
      const minInsync = this.topics.get(p.topic)!.record.minInsyncReplicas;
      partitions.push(toPartitionState(p.topic, p.partition, p.replicas, p.state.record, minInsync));
    }
    return {
      version: this.revision,
      controller:
        controllerBroker === undefined
          ? fallbackController
          : { host: controllerBroker.record.host, port: controllerBroker.record.port },
      config: this.clusterConfig(),
      brokers,
      partitions,
    };
  }
}

/** A partition's state as brokers and the rules see it, from its etcd record and its topic's. */
export function toPartitionState(
  topic: string,
  partition: number,
  replicas: readonly number[],
  record: PartitionStateRecord,
  minInsyncReplicas: number | undefined,
): PartitionState {
  return {
    topic,
    partition,
    replicas: [...replicas],
    leader: record.leader,
    leaderEpoch: record.leaderEpoch,
    isr: [...record.isr],
    partitionEpoch: record.partitionEpoch,
    ...(minInsyncReplicas === undefined ? {} : { minInsyncReplicas }),
    ...(record.changedAtMs === undefined ? {} : { changedAtMs: record.changedAtMs }),
  };
}

/**
 * The etcd record of a state the rules decided, with the stamps only etcd
 * keeps: the controller epoch that elected its leader and the broker epoch
 * that leader was elected in.
 */
export function toStateRecord(
  state: PartitionState,
  stamps: Pick<PartitionStateRecord, 'controllerEpoch' | 'leaderBrokerEpoch'>,
): PartitionStateRecord {
  return {
    leader: state.leader,
    leaderEpoch: state.leaderEpoch,
    partitionEpoch: state.partitionEpoch,
    isr: [...state.isr],
    controllerEpoch: stamps.controllerEpoch,
    leaderBrokerEpoch: stamps.leaderBrokerEpoch,
    ...(state.changedAtMs === undefined ? {} : { changedAtMs: state.changedAtMs }),
  };
}

export function stateKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
