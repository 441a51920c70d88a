import { HeaderField } from '@remoting-ts/remoting';

/*
 * Custom headers of the broker protocol, carried in extFields. Offsets are
 * `number` fields: the demo's logs stay far below 2^53, and a JS number keeps
 * the code free of bigint arithmetic.
 */

export class ProduceRequestHeader {
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int', required: true }) partition!: number;
  /** 0, 1 or -1 (all). */
  @HeaderField({ type: 'int', required: true }) acks!: number;
  /** How long an acks=all produce may wait for the HW (Kafka's request.timeout.ms on the broker side). */
  @HeaderField({ type: 'int', required: true }) timeoutMs!: number;
  /**
   * Idempotent producers: who sent the batch, and the per-partition sequence
   * number of its first record (Kafka's baseSequence; the batch's record
   * count gives the last). Kept across retries of the batch.
   */
  @HeaderField({ type: 'number' }) producerId?: number;
  @HeaderField({ type: 'number' }) sequence?: number;
}

export class ProduceResponseHeader {
  @HeaderField({ type: 'number', required: true }) baseOffset!: number;
  @HeaderField({ type: 'number', required: true }) lastOffset!: number;
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
  /** True when the batch was already in the log (a retry) and was not appended again. */
  @HeaderField({ type: 'boolean' }) duplicate?: boolean;
}

/** Sent with NOT_LEADER so a client can go straight to the leader the broker knows of. */
export class NotLeaderHeader {
  @HeaderField({ type: 'int', required: true }) leaderId!: number;
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
}

export class FetchRequestHeader {
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int', required: true }) partition!: number;
  @HeaderField({ type: 'number', required: true }) fetchOffset!: number;
  @HeaderField({ type: 'int', required: true }) maxBytes!: number;
  @HeaderField({ type: 'int', required: true }) maxWaitMs!: number;
  /** -1 for a consumer; the follower's broker id otherwise. */
  @HeaderField({ type: 'int', required: true }) replicaId!: number;
  /** The leader epoch the fetcher believes current; -1 skips the check (consumers). */
  @HeaderField({ type: 'int', required: true }) currentLeaderEpoch!: number;
  /**
   * The HW the follower already knows. A long-poll also ends when the leader's
   * HW passes it, so followers learn a new HW without waiting out maxWaitMs.
   */
  @HeaderField({ type: 'number' }) replicaHighWatermark?: number;
}

export class FetchResponseHeader {
  @HeaderField({ type: 'number', required: true }) highWatermark!: number;
  @HeaderField({ type: 'number', required: true }) logEndOffset!: number;
  @HeaderField({ type: 'number', required: true }) logStartOffset!: number;
  @HeaderField({ type: 'number', required: true }) nextOffset!: number;
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
}

export class MetadataRequestHeader {
  /** Empty or absent: every topic. A named topic that does not exist is answered UNKNOWN_TOPIC_OR_PARTITION. */
  @HeaderField({ type: 'string' }) topic?: string;
}

/** Kafka's CreateTopics, for one topic; without the counts, the cluster's defaults. */
export class CreateTopicRequestHeader {
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int' }) partitions?: number;
  @HeaderField({ type: 'int' }) replicationFactor?: number;
  /** The topic's own min.insync.replicas; absent: the cluster's. */
  @HeaderField({ type: 'int' }) minInsyncReplicas?: number;
}

export class OffsetsForLeaderEpochRequestHeader {
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int', required: true }) partition!: number;
  /** The epoch whose end offset the follower asks for (its latest). */
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
  /** The epoch the follower believes the leader has; fences stale requests. */
  @HeaderField({ type: 'int', required: true }) currentLeaderEpoch!: number;
}

export class OffsetsForLeaderEpochResponseHeader {
  /** The largest epoch <= the requested one the leader has, or -1. */
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
  @HeaderField({ type: 'number', required: true }) endOffset!: number;
}

export class ReplicaStatusRequestHeader {
  @HeaderField({ type: 'string' }) topic?: string;
}

export class FetcherControlRequestHeader {
  @HeaderField({ type: 'boolean', required: true }) paused!: boolean;
}

export class BrokerHeartbeatRequestHeader {
  @HeaderField({ type: 'int', required: true }) brokerId!: number;
  /** Differs on every process start, so the controller tells a restart from a late heartbeat. */
  @HeaderField({ type: 'string', required: true }) incarnation!: string;
  @HeaderField({ type: 'string', required: true }) host!: string;
  @HeaderField({ type: 'int', required: true }) port!: number;
  /** Version of the cluster state the broker holds; a different one makes the controller send its state. */
  @HeaderField({ type: 'int', required: true }) knownStateVersion!: number;
}

export class BrokerHeartbeatResponseHeader {
  @HeaderField({ type: 'int', required: true }) stateVersion!: number;
}

export class AlterIsrRequestHeader {
  @HeaderField({ type: 'int', required: true }) brokerId!: number;
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int', required: true }) partition!: number;
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
  /** The version of the ISR the proposal was computed from (KIP-497's partition epoch). */
  @HeaderField({ type: 'int', required: true }) partitionEpoch!: number;
  /** Comma-separated broker ids. */
  @HeaderField({ type: 'string', required: true }) isr!: string;
}

export class ResignLeadershipRequestHeader {
  @HeaderField({ type: 'int', required: true }) brokerId!: number;
  @HeaderField({ type: 'string', required: true }) topic!: string;
  @HeaderField({ type: 'int', required: true }) partition!: number;
  @HeaderField({ type: 'int', required: true }) leaderEpoch!: number;
  /** For the controller's log: what the leader found. */
  @HeaderField({ type: 'string', required: true }) reason!: string;
}

/** Builds a header instance from a plain object, since header classes have no constructors. */
export function header<T extends object>(cls: new () => T, fields: Partial<T>): T {
  return Object.assign(new cls(), fields);
}
