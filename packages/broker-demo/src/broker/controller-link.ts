import type {
  ClusterSnapshot,
  CreateTopicRequest,
  IsrProposal,
  PartitionState,
  ResignationRequest,
} from '../protocol/cluster-state.js';

/** Where this broker serves: what the cluster registers and others connect to. */
export interface BrokerEndpoint {
  brokerId: number;
  host: string;
  port: number;
}

/**
 * A broker's one way to the cluster's coordination: its session (liveness),
 * the cluster state it must follow, and the changes a leader asks for. The
 * broker knows nothing else of how the cluster is coordinated.
 *
 * Two implementations: the built-in controller process reached over
 * remoting-ts (heartbeats, AlterIsr and LeaderAndIsr requests), and a cluster
 * coordinated through etcd (leases, an election, compare-and-swap on
 * partition state), as Kafka's brokers once coordinated through ZooKeeper.
 */
export interface ControllerLink {
  /** For log lines: what this broker is linked to ("controller 127.0.0.1:4000"). */
  readonly description: string;

  /**
   * Registers the broker and keeps its session alive until `stop()`. Every
   * cluster state newer than the last one delivered goes to `onState`
   * (deliveries may repeat; the broker ignores a state that is not newer).
   */
  start(self: BrokerEndpoint, onState: (snapshot: ClusterSnapshot) => void): void;

  /**
   * Whether this broker may act as a leader now: false once its session is
   * known to be lost (it may have been declared dead and its partitions led
   * elsewhere), so a leader stops acknowledging acks=all writes.
   */
  sessionValid(): boolean;

  /**
   * A leader's ISR change. Resolves with the partition's new state when it was
   * accepted, or null when it was refused or could not be made (the leader
   * keeps its current ISR and tries again later); never rejects.
   */
  alterIsr(proposal: IsrProposal): Promise<PartitionState | null>;

  /**
   * A leader hands its partition to another ISR member. Resolves with the
   * partition's new state, or null when leadership stays (no other ISR
   * member, or the request could not be made); never rejects.
   */
  resignLeadership(request: ResignationRequest): Promise<PartitionState | null>;

  /**
   * The cluster state as the coordination holds it now, limited to `topic`
   * when given. Used when this broker's own state does not know a topic a
   * client asks about. Reading never creates a topic.
   * @throws BrokerError UNKNOWN_TOPIC_OR_PARTITION when `topic` does not exist
   *   (see `unknownTopic`), or another BrokerError or remoting error when the
   *   state cannot be read
   */
  readState(topic: string | undefined): Promise<ClusterSnapshot>;

  /**
   * Creates a topic (Kafka's CreateTopics, forwarded by the broker a client
   * asked): partitions and replication factor default to the cluster's.
   * Resolves with the cluster state limited to the new topic.
   * @throws BrokerError TOPIC_ALREADY_EXISTS, INVALID_TOPIC,
   *   INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR or INVALID_CONFIG (nothing created), or
   *   a remoting error when the coordination cannot be reached
   */
  createTopic(request: CreateTopicRequest): Promise<ClusterSnapshot>;

  /** Ends the session: stops heartbeats or releases the lease. */
  stop(): Promise<void>;
}
