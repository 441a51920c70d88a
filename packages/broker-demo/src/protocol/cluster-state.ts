/**
 * The cluster state the controller decides and pushes to brokers, and that
 * metadata requests answer with. Sent as JSON: it is small and people read it.
 */

export interface BrokerInfo {
  id: number;
  host: string;
  port: number;
  alive: boolean;
}

export interface PartitionState {
  topic: string;
  partition: number;
  /** Assigned replicas, preferred leader first. */
  replicas: number[];
  /** -1 when no replica can lead. */
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** Bumped on every change of leader or ISR; an ISR proposal must name the current one. */
  partitionEpoch: number;
  /**
   * The topic's own min.insync.replicas, where it has one (topics made with
   * `create-topic --min-insync` on an etcd-coordinated cluster); otherwise the
   * cluster's `config.minInsyncReplicas` applies.
   */
  minInsyncReplicas?: number;
}

/**
 * A leader's request to change its partition's ISR (Kafka's AlterPartition):
 * valid only while `leaderEpoch` and `partitionEpoch` are still current.
 */
export interface IsrProposal {
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
}

/** A leader's request to hand its partition to another ISR member (a corrupt log, a controlled stop). */
export interface ResignationRequest {
  topic: string;
  partition: number;
  leaderEpoch: number;
  /** Said in the controller's log. */
  reason: string;
}

export interface ClusterConfig {
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
  defaultPartitions: number;
  defaultReplicationFactor: number;
}

export interface ClusterSnapshot {
  /** Bumped on every change; brokers apply a snapshot only if it is newer than theirs. */
  version: number;
  controller: { host: string; port: number };
  config: ClusterConfig;
  brokers: BrokerInfo[];
  partitions: PartitionState[];
}

export function addressOf(broker: { host: string; port: number }): string {
  return `${broker.host}:${broker.port}`;
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses a JSON body; the type is the sender's promise, as with any JSON protocol. */
export function decodeJson<T>(body: Buffer | null, what: string): T {
  if (body === null || body.length === 0) throw new Error(`${what}: empty body`);
  return JSON.parse(body.toString('utf8')) as T;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
