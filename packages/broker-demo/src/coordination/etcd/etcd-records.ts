/**
 * What the cluster keeps in etcd: the key of each thing and its JSON value,
 * Kafka's ZooKeeper layout (`/brokers/ids/N`, `/controller_epoch`,
 * `/brokers/topics/T`, `.../partitions/P/state`) carried over to etcd keys
 * under one root. Values are checked field by field when read: a key someone
 * wrote by hand with a wrong shape is reported and skipped, never trusted.
 */

import type { ClusterConfig } from '../../protocol/cluster-state.js';

/** A broker's registration, written under its session lease: the key exists while the broker is alive. */
export interface BrokerRegistrationRecord {
  id: number;
  /** The address others connect to (the broker's `--advertise`, else where it listens). */
  host: string;
  port: number;
  /** A random id per process: tells a restarted broker from the previous one in the logs. */
  incarnation: string;
}

/** A topic as `create-topic` wrote it (Kafka's `/brokers/topics/T`): replicas per partition, preferred leader first. */
export interface TopicRecord {
  /** `replicaAssignment[p]` lists partition p's replicas. */
  replicaAssignment: number[][];
  /** The topic's min.insync.replicas. */
  minInsyncReplicas: number;
}

/**
 * A partition's state (Kafka's `.../partitions/P/state`): changed only by a
 * transaction that compares the key's mod revision with the one the writer
 * read (Kafka's zkVersion), by the controller for elections and by the
 * leader for ISR changes.
 */
export interface PartitionStateRecord {
  /** -1 when no replica can lead. */
  leader: number;
  leaderEpoch: number;
  /** Bumped by every change; an ISR proposal names the one it was made in. */
  partitionEpoch: number;
  isr: number[];
  /** The controller epoch of the controller that last elected a leader here. */
  controllerEpoch: number;
  /**
   * The leader's broker epoch when it was elected: the create revision of its
   * registration (Kafka uses the registration's czxid the same way). A leader
   * registered under another epoch has restarted: the controller elects again.
   */
  leaderBrokerEpoch: number;
  /** Wall-clock ms of the change, by the clock of whoever wrote it (the live view dates events by it). */
  changedAtMs?: number;
}

/** Who was elected controller last, and in which epoch (Kafka's `/controller_epoch`). */
export interface ControllerEpochRecord {
  epoch: number;
  brokerId: number;
  /** The election key the controller holds; its create revision fences every write it makes. */
  electionKey: string;
  electionRevision: number;
}

/** A leader's request to hand its partition to another ISR member (its log is damaged). */
export interface ResignationRecord {
  brokerId: number;
  leaderEpoch: number;
  reason: string;
}

/** A value that is not what its key should hold. */
export class EtcdRecordError extends Error {
  override readonly name = 'EtcdRecordError';
  readonly code = 'ETCD_RECORD_INVALID';
}

/** The keys of one cluster, all under `root`. Topic names never hold a `/` (see `checkTopicName` in partition-rules.ts). */
export class EtcdKeyLayout {
  readonly prefix: string;

  constructor(readonly root: string) {
    this.prefix = `${root}/`;
  }

  brokerRegistration(id: number): string {
    return `${this.prefix}brokers/ids/${id}`;
  }

  topic(topic: string): string {
    return `${this.prefix}topics/${topic}`;
  }

  partitionState(topic: string, partition: number): string {
    return `${this.prefix}topics/${topic}/partitions/${partition}/state`;
  }

  get controllerEpoch(): string {
    return `${this.prefix}controller_epoch`;
  }

  /** Cluster-wide settings: unclean election, and the partitions, replication and min.insync.replicas `create-topic` uses for what it is not told. */
  get config(): string {
    return `${this.prefix}config`;
  }

  resignation(topic: string, partition: number): string {
    return `${this.prefix}admin/resign/${topic}/${partition}`;
  }

  /** The prefix etcd3's Election keeps its candidates under (`election/controller/<lease>`). */
  get electionNamespace(): string {
    return this.prefix;
  }

  get electionPrefix(): string {
    return `${this.prefix}election/${CONTROLLER_ELECTION}/`;
  }

  /** What a key of this cluster is, or null for keys that are not ours. */
  parse(key: string): ParsedKey | null {
    if (!key.startsWith(this.prefix)) return null;
    const parts = key.slice(this.prefix.length).split('/');
    const [first, second, third, fourth, fifth] = parts;
    if (first === 'brokers' && second === 'ids' && parts.length === 3 && isIndex(third))
      return { kind: 'broker', brokerId: Number(third) };
    if (first === 'topics' && parts.length === 2 && second !== undefined && second !== '')
      return { kind: 'topic', topic: second };
    if (
      first === 'topics' &&
      parts.length === 5 &&
      third === 'partitions' &&
      isIndex(fourth) &&
      fifth === 'state' &&
      second !== undefined
    )
      return { kind: 'partition-state', topic: second, partition: Number(fourth) };
    if (first === 'controller_epoch' && parts.length === 1) return { kind: 'controller-epoch' };
    if (first === 'config' && parts.length === 1) return { kind: 'config' };
    if (first === 'election' && second === CONTROLLER_ELECTION && parts.length === 3)
      return { kind: 'election-candidate' };
    if (
      first === 'admin' &&
      second === 'resign' &&
      parts.length === 4 &&
      isIndex(fourth) &&
      third !== undefined
    )
      return { kind: 'resignation', topic: third, partition: Number(fourth) };
    return null;
  }
}

/** The name of the controller election (etcd3's Election). */
export const CONTROLLER_ELECTION = 'controller';

export type ParsedKey =
  | { kind: 'broker'; brokerId: number }
  | { kind: 'topic'; topic: string }
  | { kind: 'partition-state'; topic: string; partition: number }
  | { kind: 'controller-epoch' }
  | { kind: 'config' }
  | { kind: 'election-candidate' }
  | { kind: 'resignation'; topic: string; partition: number };

function isIndex(text: string | undefined): boolean {
  return text !== undefined && /^(0|[1-9]\d{0,8})$/.test(text);
}

export function encodeRecord(value: unknown): string {
  return JSON.stringify(value);
}

function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new EtcdRecordError(`${what}: not JSON (${String(err)})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EtcdRecordError(`${what}: not a JSON object`);
  return value as Record<string, unknown>;
}

function int(o: Record<string, unknown>, field: string, what: string, min = 0): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new EtcdRecordError(`${what}: ${field} must be an integer >= ${min}, not ${JSON.stringify(v)}`);
  return v;
}

function str(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw new EtcdRecordError(`${what}: ${field} must be a string`);
  return v;
}

function ids(v: unknown, field: string, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0))
    throw new EtcdRecordError(`${what}: ${field} must be a list of broker ids`);
  return v as number[];
}

export function decodeBrokerRegistration(bytes: Buffer, what: string): BrokerRegistrationRecord {
  const o = parseObject(bytes, what);
  return {
    id: int(o, 'id', what),
    host: str(o, 'host', what),
    port: int(o, 'port', what, 1),
    incarnation: str(o, 'incarnation', what),
  };
}

export function decodeTopic(bytes: Buffer, what: string): TopicRecord {
  const o = parseObject(bytes, what);
  const assignment = o.replicaAssignment;
  if (!Array.isArray(assignment) || assignment.length === 0)
    throw new EtcdRecordError(`${what}: replicaAssignment must list at least one partition`);
  return {
    replicaAssignment: assignment.map((r, p) => {
      const replicas = ids(r, `replicaAssignment[${p}]`, what);
      if (replicas.length === 0) throw new EtcdRecordError(`${what}: partition ${p} has no replica`);
      return replicas;
    }),
    minInsyncReplicas: int(o, 'minInsyncReplicas', what, 1),
  };
}

export function decodePartitionState(bytes: Buffer, what: string): PartitionStateRecord {
  const o = parseObject(bytes, what);
  return {
    leader: int(o, 'leader', what, -1),
    leaderEpoch: int(o, 'leaderEpoch', what),
    partitionEpoch: int(o, 'partitionEpoch', what),
    isr: ids(o.isr, 'isr', what),
    controllerEpoch: int(o, 'controllerEpoch', what),
    leaderBrokerEpoch: int(o, 'leaderBrokerEpoch', what),
    ...(o.changedAtMs === undefined ? {} : { changedAtMs: int(o, 'changedAtMs', what) }),
  };
}

export function decodeControllerEpoch(bytes: Buffer, what: string): ControllerEpochRecord {
  const o = parseObject(bytes, what);
  return {
    epoch: int(o, 'epoch', what, 1),
    brokerId: int(o, 'brokerId', what),
    electionKey: str(o, 'electionKey', what),
    electionRevision: int(o, 'electionRevision', what, 1),
  };
}

export function decodeResignation(bytes: Buffer, what: string): ResignationRecord {
  const o = parseObject(bytes, what);
  return {
    brokerId: int(o, 'brokerId', what),
    leaderEpoch: int(o, 'leaderEpoch', what),
    reason: str(o, 'reason', what),
  };
}

export function decodeClusterConfig(bytes: Buffer, what: string): ClusterConfig {
  const o = parseObject(bytes, what);
  if (typeof o.uncleanLeaderElection !== 'boolean')
    throw new EtcdRecordError(`${what}: uncleanLeaderElection must be true or false`);
  return {
    minInsyncReplicas: int(o, 'minInsyncReplicas', what, 1),
    uncleanLeaderElection: o.uncleanLeaderElection,
    defaultPartitions: int(o, 'defaultPartitions', what, 1),
    defaultReplicationFactor: int(o, 'defaultReplicationFactor', what, 1),
  };
}
