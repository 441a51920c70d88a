import type { Etcd3 } from 'etcd3';
import { assignReplicas } from '../../controller/partition-rules.js';
import type { ClusterConfig, PartitionState } from '../../protocol/cluster-state.js';
import { BrokerResponseCode } from '../../protocol/codes.js';
import { BrokerConfigError, BrokerError } from '../../protocol/errors.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdClusterMirror } from './etcd-cluster-mirror.js';
import type { EtcdClusterState } from './etcd-cluster-state.js';
import { checkTopicName, EtcdKeyLayout, encodeRecord, type TopicRecord } from './etcd-records.js';
import { parseCoordinatorUrl } from './etcd-url.js';

/** What `create-topic` asks for. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/**
 * Writes a new topic's replica assignment (Kafka's `/brokers/topics/T`),
 * round-robin over the brokers registered now, as a create-if-absent: a
 * topic that exists is refused, never overwritten. The controller sees the
 * key through its watch and elects every partition's first leader. Returns
 * the revision of the write.
 * @throws BrokerConfigError for a bad name or numbers; BrokerError NOT_ENOUGH_REPLICAS
 *   (too few brokers registered) or INVALID_REQUEST (the topic exists)
 */
export async function createTopic(
  client: Etcd3,
  keys: EtcdKeyLayout,
  state: EtcdClusterState,
  spec: TopicSpec,
): Promise<number> {
  const badName = checkTopicName(spec.topic);
  if (badName !== null) throw new BrokerConfigError(badName);
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1)
    throw new BrokerConfigError(`--partitions must be at least 1, not ${spec.partitions}`);
  if (!Number.isInteger(spec.replicationFactor) || spec.replicationFactor < 1)
    throw new BrokerConfigError(`--replication-factor must be at least 1, not ${spec.replicationFactor}`);
  if (spec.minInsyncReplicas < 1 || spec.minInsyncReplicas > spec.replicationFactor)
    throw new BrokerConfigError(
      `--min-insync must be between 1 and the replication factor ${spec.replicationFactor}, not ${spec.minInsyncReplicas}`,
    );
  const record: TopicRecord = {
    replicaAssignment: assignReplicas(
      spec.topic,
      [...state.brokers.keys()],
      spec.partitions,
      spec.replicationFactor,
    ),
    minInsyncReplicas: spec.minInsyncReplicas,
  };
  const key = keys.topic(spec.topic);
  const result = await client
    .if(key, 'Create', '==', 0)
    .then(client.put(key).value(encodeRecord(record)))
    .commit();
  if (!result.succeeded) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REQUEST,
      `topic ${spec.topic} already exists; nothing changed`,
    );
  }
  return Number(result.header.revision);
}

/** Whether every partition of `topic` has a leader (the controller has initialised it). */
export function topicReady(state: EtcdClusterState, topic: string): boolean {
  const parts = state.partitions().filter((p) => p.topic === topic);
  return parts.length > 0 && parts.every((p) => p.state !== null && p.state.record.leader >= 0);
}

/**
 * Writes the cluster's defaults (min.insync.replicas and replication for
 * topics made on first use, unclean election). Without them, topics are made
 * only by `create-topic`.
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
 * `broker create-topic --coordinator etcd://…`: writes the topic and waits
 * (watching, up to `timeoutMs`) for the controller to elect its first leaders.
 */
export async function createTopicThroughEtcd(
  url: string,
  spec: TopicSpec,
  timeoutMs: number,
  say: (line: string) => void = () => undefined,
): Promise<CreatedTopic> {
  const coordinates = parseCoordinatorUrl(url);
  const client = createEtcdClient(coordinates.endpoints);
  const keys = new EtcdKeyLayout(coordinates.root);
  const mirror = new EtcdClusterMirror(client, keys, say);
  try {
    await mirror.start();
    const revision = await createTopic(client, keys, mirror.state, spec);
    await mirror.waitForRevision(revision);
    const leadersElected = await mirror.waitUntil((s) => topicReady(s, spec.topic), timeoutMs);
    const snapshot = mirror.state.snapshot({ host: '', port: 0 });
    const partitions = snapshot.partitions.filter((p) => p.topic === spec.topic);
    if (partitions.length === 0) {
      const assignment = mirror.state.topics.get(spec.topic)?.record.replicaAssignment ?? [];
      for (const [partition, replicas] of assignment.entries())
        partitions.push({
          topic: spec.topic,
          partition,
          replicas,
          leader: -1,
          leaderEpoch: 0,
          isr: [],
          partitionEpoch: 0,
          minInsyncReplicas: spec.minInsyncReplicas,
        });
    }
    return { partitions, leadersElected };
  } finally {
    await mirror.stop();
    client.close();
  }
}
