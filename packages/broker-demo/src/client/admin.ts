import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { type CreateTopicRequest, decodeJson, type PartitionState } from '../protocol/cluster-state.js';
import { BrokerResponseCode, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { header, ReplicaStatusRequestHeader } from '../protocol/headers.js';
import type { ReplicaStatusBody } from '../protocol/replica-status.js';
import { waitFor } from '../util/time.js';
import type { ClusterClient } from './cluster-client.js';

/** How long `createTopic` waits for the new partitions' leaders to serve, unless told. */
const LEADERS_READY_TIMEOUT_MS = 30_000;
/** One REPLICA_STATUS call of that wait. */
const STATUS_TIMEOUT_MS = 1000;

export interface CreateTopicOptions {
  /** An existing topic is fine (its partitions are returned as they are): `produce --create-topic`. */
  ifNotExists?: boolean;
  /** How long to wait for every new partition's leader to serve; default 30 s. */
  timeoutMs?: number;
}

/**
 * Creates a topic (Kafka's CreateTopics through the admin client) and waits
 * until every partition's leader has taken its role and serves, so the first
 * produce goes straight through instead of meeting a leader still starting.
 * @throws BrokerError TOPIC_ALREADY_EXISTS (unless `ifNotExists`), INVALID_TOPIC,
 *   INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG
 */
export async function createTopic(
  cluster: ClusterClient,
  request: CreateTopicRequest,
  options: CreateTopicOptions = {},
): Promise<PartitionState[]> {
  let partitions: PartitionState[];
  try {
    partitions = await cluster.createTopic(request);
  } catch (err) {
    if (
      options.ifNotExists !== true ||
      !(err instanceof BrokerError && err.responseCode === BrokerResponseCode.TOPIC_ALREADY_EXISTS)
    ) {
      throw err;
    }
    await cluster.refresh(request.topic);
    partitions = cluster.partitions(request.topic);
  }
  // The leaders as they are now, not as created: one that died meanwhile is replaced by an election.
  return waitFor(
    `the leaders of ${request.topic}'s ${partitions.length} partition(s) to serve`,
    async () => {
      await cluster.refresh(request.topic);
      const now = cluster.partitions(request.topic);
      return (await leadersServing(cluster, now)) ? now : undefined;
    },
    options.timeoutMs ?? LEADERS_READY_TIMEOUT_MS,
    50,
  );
}

/** Whether every partition's leader says it leads it, in the epoch the metadata names. */
async function leadersServing(
  cluster: ClusterClient,
  partitions: readonly PartitionState[],
): Promise<boolean> {
  const byLeader = new Map<number, PartitionState[]>();
  for (const p of partitions) {
    if (p.leader < 0) return false;
    byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p]);
  }
  const answers = await Promise.all(
    [...byLeader].map(async ([leader, led]) => {
      const address = cluster.brokerAddress(leader);
      if (address === undefined) return false;
      const request = RemotingCommand.createRequest(
        RequestCode.REPLICA_STATUS,
        header(ReplicaStatusRequestHeader, { topic: led[0]!.topic }),
      );
      const response = await cluster.rpc.invokeSync(address, request, STATUS_TIMEOUT_MS);
      if (response.code !== ResponseCode.SUCCESS) return false;
      const { replicas } = decodeJson<ReplicaStatusBody>(response.body, 'status');
      return led.every((p) =>
        replicas.some(
          (r) => r.partition === p.partition && r.role === 'leader' && r.leaderEpoch === p.leaderEpoch,
        ),
      );
    }),
  );
  return answers.every(Boolean);
}
