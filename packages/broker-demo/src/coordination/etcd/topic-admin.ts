import type { Etcd3 } from 'etcd3';
import { newTopicPartitions } from '../../controller/partition-rules.js';
import {
  type ClusterConfig,
  type CreateTopicRequest,
  type PartitionState,
  topicAlreadyExists,
} from '../../protocol/cluster-state.js';
import { BrokerResponseCode, NO_LEADER } from '../../protocol/codes.js';
import { BrokerError } from '../../protocol/errors.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdClusterMirror } from './etcd-cluster-mirror.js';
import type { EtcdClusterState } from './etcd-cluster-state.js';
import { EtcdKeyLayout, encodeRecord, type TopicRecord } from './etcd-records.js';
import { parseCoordinatorUrl } from './etcd-url.js';

/**
 * Writes a new topic's replica assignment (Kafka's `/brokers/topics/T`),
 * round-robin over the brokers registered in `state`, as a create-if-absent:
 * a topic that exists is refused, never overwritten. The controller sees the
 * key through its watch and gives every partition its first state. What the
 * request leaves out comes from the cluster's `config` key; the checks are
 * the built-in controller's (`newTopicPartitions`), so both refuse alike.
 * Returns the revision of the write.
 * @throws BrokerError TOPIC_ALREADY_EXISTS, INVALID_TOPIC, INVALID_PARTITIONS,
 *   INVALID_REPLICATION_FACTOR (also: fewer brokers registered) or INVALID_CONFIG
 */
export async function createTopic(
  client: Etcd3,
  keys: EtcdKeyLayout,
  state: EtcdClusterState,
  request: CreateTopicRequest,
): Promise<number> {
  if (state.topics.has(request.topic)) throw topicAlreadyExists(request.topic);
  const config = state.clusterConfig();
  const partitions = newTopicPartitions(
    {
      topic: request.topic,
      partitions: request.partitions ?? config.defaultPartitions,
      replicationFactor: request.replicationFactor ?? config.defaultReplicationFactor,
      ...(request.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: request.minInsyncReplicas }),
    },
    [...state.brokers.keys()],
    Date.now(),
  );
  const record: TopicRecord = {
    replicaAssignment: partitions.map((p) => p.replicas),
    minInsyncReplicas: request.minInsyncReplicas ?? config.minInsyncReplicas,
  };
  const key = keys.topic(request.topic);
  const result = await client
    .if(key, 'Create', '==', 0)
    .then(client.put(key).value(encodeRecord(record)))
    .commit();
  // Our copy was behind: someone else made it a moment ago.
  if (!result.succeeded) throw topicAlreadyExists(request.topic);
  return Number(result.header.revision);
}

/** Whether every partition of `topic` has a leader (the controller has initialised it). */
export function topicReady(state: EtcdClusterState, topic: string): boolean {
  const parts = state.partitions().filter((p) => p.topic === topic);
  return parts.length > 0 && parts.every((p) => p.state !== null && p.state.record.leader >= 0);
}

/**
 * The partitions of `topic` as clients are told: those the controller has
 * given a state, and, for the others, their replicas with no leader yet
 * (clients wait and ask again, as for any partition without a leader).
 */
export function topicPartitions(state: EtcdClusterState, topic: string): PartitionState[] {
  const elected = state.snapshot({ host: '', port: 0 }).partitions.filter((p) => p.topic === topic);
  const record = state.topics.get(topic)?.record;
  if (record === undefined) return elected;
  return record.replicaAssignment.map(
    (replicas, partition) =>
      elected.find((p) => p.partition === partition) ?? {
        topic,
        partition,
        replicas: [...replicas],
        leader: NO_LEADER,
        leaderEpoch: 0,
        isr: [],
        partitionEpoch: 0,
        minInsyncReplicas: record.minInsyncReplicas,
      },
  );
}

/**
 * Writes the cluster's settings: unclean election, and the partitions,
 * replication factor and min.insync.replicas `create-topic` uses for what it
 * is not told. Without them, Kafka's defaults (DEFAULT_ETCD_CLUSTER_CONFIG).
 */
export async function writeClusterConfig(
  client: Etcd3,
  keys: EtcdKeyLayout,
  config: ClusterConfig,
): Promise<void> {
  await client.put(keys.config).value(encodeRecord(config)).exec();
}

/** What `create-topic --coordinator` reports: each partition's replicas and, once elected, its leader. */
export interface CreatedTopic {
  partitions: PartitionState[];
  /** False when no controller elected the first leaders in time (no broker running?). */
  leadersElected: boolean;
}

/**
 * `broker create-topic --coordinator etcd://…`: writes the topic (no broker
 * in between, as Kafka's topic tool once wrote to ZooKeeper) and waits
 * (watching, up to `timeoutMs`) for the controller to elect its first
 * leaders. With `ifNotExists`, an existing topic is taken as it is.
 * @throws BrokerError as `createTopic`
 */
export async function createTopicThroughEtcd(
  url: string,
  request: CreateTopicRequest,
  timeoutMs: number,
  options: { ifNotExists?: boolean; say?: (line: string) => void } = {},
): Promise<CreatedTopic> {
  const coordinates = parseCoordinatorUrl(url);
  const client = createEtcdClient(coordinates.endpoints);
  const keys = new EtcdKeyLayout(coordinates.root);
  const mirror = new EtcdClusterMirror(client, keys, options.say ?? (() => undefined));
  try {
    // A fresh full read: the brokers registered now.
    await mirror.start();
    try {
      await mirror.waitForRevision(await createTopic(client, keys, mirror.state, request));
    } catch (err) {
      const exists =
        err instanceof BrokerError && err.responseCode === BrokerResponseCode.TOPIC_ALREADY_EXISTS;
      if (!(exists && options.ifNotExists === true)) throw err;
      await mirror.catchUp();
    }
    const leadersElected = await mirror.waitUntil((s) => topicReady(s, request.topic), timeoutMs);
    return { partitions: topicPartitions(mirror.state, request.topic), leadersElected };
  } finally {
    await mirror.stop();
    client.close();
  }
}
