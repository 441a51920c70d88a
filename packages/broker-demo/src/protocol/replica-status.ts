/**
 * The REPLICA_STATUS answer: what one broker knows of the replicas it hosts.
 * A wire type (JSON), read by `describe`, the scenarios and the live view;
 * the broker fills it from its partitions and its handlers' counters.
 */

/**
 * What a replica is for its partition, as the controller last decided:
 * `leader` serves produce and fetch; `follower` copies the leader's log;
 * `offline` has no leader to follow (the partition has none, or this broker
 * is shutting down) and serves nothing.
 */
export type ReplicaRole = 'leader' | 'follower' | 'offline';

/** A follower as its leader sees it. */
export interface FollowerStatus {
  brokerId: number;
  /** Its LEO as its last fetch offset says; -1 before its first fetch to this leader. */
  leo: number;
  /** -1 when it has not caught up with this leader yet. */
  lastCaughtUpMsAgo: number;
  inIsr: boolean;
}

/** One replica hosted by the answering broker. */
export interface ReplicaStatus {
  topic: string;
  partition: number;
  brokerId: number;
  role: ReplicaRole;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** An ISR change this leader proposed and the controller has not answered yet. */
  pendingIsr: number[] | null;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** As the leader sees its followers; empty on followers. */
  followers: FollowerStatus[];
  /** Requests parked at this replica now (Kafka's purgatory gauges): acks=all waits, and fetch long-polls. */
  parked: { produces: number; fetches: number };
  /** The last time this replica cut its log (KIP-101, a log ahead of an unclean leader, a corrupt batch); null if never since start. */
  lastTruncation: TruncationRecord | null;
}

/** A truncation of a replica's log, with the wall-clock time it happened. */
export interface TruncationRecord {
  fromOffset: number;
  toOffset: number;
  atMs: number;
}

/** What a broker's request handlers count per partition for the live view; read-only. */
export interface PartitionTrafficCounters {
  topic: string;
  partition: number;
  /**
   * acks=all produce requests this leader has taken and not yet answered;
   * nearly all of that time is the wait for the HW.
   */
  acksAllWaiting: number;
  /** Records handed to consumers (fetches with replica id -1) since the broker started. */
  consumerRecordsServed: number;
}

/** The REPLICA_STATUS response body. */
export interface ReplicaStatusBody {
  brokerId: number;
  /** An admin paused this broker's replica fetchers (FETCHER_CONTROL): it is alive but copies nothing. */
  fetchersPaused: boolean;
  /**
   * Whether the broker's session with the cluster's coordination is valid
   * (always true under the built-in controller): false while an
   * etcd-coordinated broker is fenced, acknowledging no acks=all write.
   */
  sessionValid: boolean;
  replicas: ReplicaStatus[];
  traffic: PartitionTrafficCounters[];
}
