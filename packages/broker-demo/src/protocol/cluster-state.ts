import { BrokerResponseCode } from './codes.js';
import { BrokerError } from './errors.js';

/**
 * The cluster state the controller decides and pushes to brokers, and that
 * metadata requests answer with. Sent as JSON: it is small and people read it.
 */

export interface BrokerInfo {
  id: number;
  host: string;
  port: number;
  alive: boolean;
  /** Wall-clock ms when `alive` last changed (registered, declared dead); absent from older states. */
  changedAtMs?: number;
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
   * The topic's own min.insync.replicas, where it has one (`create-topic
   * --min-insync`, and every topic of an etcd-coordinated cluster); otherwise
   * the cluster's `config.minInsyncReplicas` applies.
   */
  minInsyncReplicas?: number;
  /**
   * Wall-clock ms of the last change of leader or ISR, as the deciding
   * controller's clock read it (the live view dates its events by it);
   * absent from states written before it existed.
   */
  changedAtMs?: number;
}

/** A topic to create: its name, partition count and replication factor (Kafka's CreateTopics). */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** The topic's own min.insync.replicas (a topic config in Kafka); absent: the cluster's applies. */
  minInsyncReplicas?: number;
}

/** A CREATE_TOPIC request: counts left out take the cluster's defaults. */
export type CreateTopicRequest = Pick<TopicSpec, 'topic'> & Partial<Omit<TopicSpec, 'topic'>>;

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

/**
 * The answer to a metadata request or fetch naming a topic that does not
 * exist (Kafka's UNKNOWN_TOPIC_OR_PARTITION): topics are created only by
 * CREATE_TOPIC, never by reading.
 */
export function unknownTopic(topic: string): BrokerError {
  return new BrokerError(
    BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
    `topic ${topic} does not exist (create it first: broker create-topic --topic ${topic})`,
    { details: { unknownTopic: topic } },
  );
}

/** The answer to CREATE_TOPIC for a topic that exists (Kafka's TOPIC_ALREADY_EXISTS). */
export function topicAlreadyExists(topic: string): BrokerError {
  return new BrokerError(
    BrokerResponseCode.TOPIC_ALREADY_EXISTS,
    `topic ${topic} already exists; nothing changed`,
  );
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
