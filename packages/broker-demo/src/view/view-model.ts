/*
 * The shapes the view server sends the page over Server-Sent Events. The page
 * (assets/view.js) reads exactly these fields; keep the two in step.
 */

/** What the operating system says about a process the cluster started. */
export type ProcessState = 'running' | 'stopped' | 'exited' | 'unknown';

export interface BrokerView {
  id: number;
  address: string;
  pid: number;
  process: ProcessState;
  /** The controller counts it alive (heartbeats within the session timeout). */
  registered: boolean;
  /** It answered the last status request in time. */
  answering: boolean;
  /**
   * etcd-coordinated: running, but its session is not valid (it says so, or
   * etcd has no registration for it): it acknowledges no acks=all write.
   */
  fenced: boolean;
  /** It is the elected controller (etcd-coordinated clusters; the built-in controller is a process of its own). */
  controller: boolean;
  /** When `process` became what it is (started, signalled, exited), as the cluster recorded it; null if unknown. */
  processSinceMs?: number | null;
  /** When `registered` became what it is, as the controller recorded it; null if unknown. */
  registeredSinceMs?: number | null;
}

/** Who coordinates the cluster shown. */
export type CoordinationView =
  | { kind: 'controller' }
  | {
      kind: 'etcd';
      /** The coordinator URL the brokers were given. */
      url: string;
      /** The broker etcd elected controller, and the epoch it claimed; null while there is none. */
      controllerBrokerId: number | null;
      controllerEpoch: number | null;
    };

export interface ReplicaBar {
  brokerId: number;
  /** Null until this replica has answered once. */
  leo: number | null;
  hw: number | null;
  role: 'leader' | 'follower' | 'offline' | null;
  /** The numbers are from an earlier answer: the broker did not answer the latest request. */
  stale: boolean;
  inIsr: boolean;
  /** As the leader sees this follower: records behind the leader's LEO, and time since it last caught up. */
  lagRecords: number | null;
  lastCaughtUpMsAgo: number | null;
  /** The replica's last truncation, as it reported it (with the time it happened). */
  lastTruncation?: { fromOffset: number; toOffset: number; atMs: number } | null;
}

export interface PartitionPanel {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** When the controller last changed the leader or ISR (its clock); null if unknown. */
  changedAtMs?: number | null;
  /** The leader's HW (the committed end): the line across the bars. */
  highWatermark: number | null;
  replicas: ReplicaBar[];
  /** Records per second appended at the leader (its LEO's rise) and handed to consumers. */
  produceRate: number;
  consumeRate: number;
  acksAllWaiting: number;
}

export interface ProducerView {
  running: boolean;
  acks: '0' | '1' | 'all';
  topic: string;
  acknowledged: number;
  failed: number;
  lastError: string | null;
}

export interface ClusterViewSnapshot {
  seq: number;
  atMs: number;
  /** The cluster being shown, or null between two (demo --watch). */
  label: string | null;
  replicaLagTimeMaxMs: number;
  minInsync: number;
  unclean: boolean;
  controller: { address: string; pid: number } | null;
  coordination: CoordinationView;
  brokers: BrokerView[];
  partitions: PartitionPanel[];
  producer: ProducerView;
}

export type TimelineKind =
  | 'isr-shrink'
  | 'isr-expand'
  | 'election'
  | 'leader-offline'
  | 'epoch-bump'
  | 'truncation'
  | 'broker-death'
  | 'broker-return'
  | 'fenced'
  | 'controller'
  | 'process'
  | 'control'
  | 'note';

export interface TimelineEvent {
  id: number;
  /**
   * When it happened, as whatever recorded it said (the controller for ISR
   * and election changes, the cluster for process events, the replica for a
   * truncation); when the view saw it only where nothing recorded a time.
   */
  atMs: number;
  kind: TimelineKind;
  text: string;
  /** For partition events: "topic-partition". */
  partition?: string;
  brokerId?: number;
  /** For elections: whether the new leader came from the ISR. */
  clean?: boolean;
}
