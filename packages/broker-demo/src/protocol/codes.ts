/**
 * Request and response codes of the broker demo's protocol. They sit well above
 * RocketMQ's own codes (which stop below 1000 for requests and use 0..4 for
 * system responses) so a capture of mixed traffic stays readable.
 */

export const RequestCode = {
  /** Producer → partition leader: append records. */
  PRODUCE: 3001,
  /** Follower or consumer → partition leader: read from an offset (long-poll). */
  FETCH: 3002,
  /** Anyone → any broker or the controller: cluster and partition metadata. */
  METADATA: 3003,
  /** Follower → new leader: end offset of a leader epoch (KIP-101 truncation). */
  OFFSETS_FOR_LEADER_EPOCH: 3004,
  /** Admin → broker: what this replica knows (role, LEO, HW, followers). */
  REPLICA_STATUS: 3005,
  /** Admin → broker: pause or resume its replica fetchers (keeps heartbeats going). */
  FETCHER_CONTROL: 3006,
  /** Broker → controller: register and stay alive. */
  BROKER_HEARTBEAT: 3010,
  /** Partition leader → controller: propose a new ISR. */
  ALTER_ISR: 3011,
  /** Controller → broker: the leaders, epochs and ISRs it decided. */
  LEADER_AND_ISR: 3012,
  /** Partition leader → controller: hand leadership to another ISR member (its log is damaged). */
  RESIGN_LEADERSHIP: 3013,
  /** Admin → the controller (or any broker, which forwards it): create a topic (Kafka's CreateTopics). */
  CREATE_TOPIC: 3014,
} as const;
export type RequestCode = (typeof RequestCode)[keyof typeof RequestCode];

/** Error codes a broker or the controller answers with (Kafka's names). */
export const BrokerResponseCode = {
  NOT_LEADER: 3101,
  NOT_ENOUGH_REPLICAS: 3102,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 3103,
  REQUEST_TIMED_OUT: 3104,
  UNKNOWN_TOPIC_OR_PARTITION: 3105,
  FENCED_LEADER_EPOCH: 3106,
  UNKNOWN_LEADER_EPOCH: 3107,
  OFFSET_OUT_OF_RANGE: 3108,
  INVALID_REQUEST: 3109,
  LEADER_NOT_AVAILABLE: 3110,
  INVALID_UPDATE_VERSION: 3111,
  STORAGE_ERROR: 3112,
  /**
   * An idempotent batch whose base sequence is not the one after the
   * producer's last appended record: an earlier batch is missing (it failed
   * and is being retried) or was lost. Nothing was appended.
   */
  OUT_OF_ORDER_SEQUENCE: 3113,
  /**
   * An idempotent batch with a sequence other than 0 from a producer this
   * leader has no state for (new to it, or forgotten after a restart): it
   * cannot tell a gap from a continuation. Nothing was appended; the producer
   * starts over under a new producer id (Kafka's UNKNOWN_PRODUCER_ID).
   */
  UNKNOWN_PRODUCER_ID: 3114,
  /**
   * The broker's session with the cluster's coordination (its etcd lease) is
   * not provably alive: it may have been declared dead and its partitions
   * led elsewhere, so it acknowledges no acks=all write and answers no
   * metadata until it has registered again. Retriable: ask another broker.
   */
  BROKER_FENCED: 3115,
  /** CREATE_TOPIC for a name that exists already; nothing was changed. */
  TOPIC_ALREADY_EXISTS: 3116,
  /** A topic name that is not legal (Kafka's rule: letters, digits, '.', '_', '-'; at most 249). */
  INVALID_TOPIC: 3117,
  /** A partition count out of range. */
  INVALID_PARTITIONS: 3118,
  /** A replication factor out of range, or above the number of live brokers. */
  INVALID_REPLICATION_FACTOR: 3119,
  /** A topic setting out of range (Kafka's INVALID_CONFIG): min.insync.replicas above the replication factor. */
  INVALID_CONFIG: 3120,
} as const;
export type BrokerResponseCode = (typeof BrokerResponseCode)[keyof typeof BrokerResponseCode];
export type BrokerErrorName = keyof typeof BrokerResponseCode;

const names = new Map<number, BrokerErrorName>(
  Object.entries(BrokerResponseCode).map(([name, code]) => [code, name as BrokerErrorName]),
);

/** The Kafka-style name of a broker response code, or undefined for codes that are not ours. */
export function brokerErrorName(code: number): BrokerErrorName | undefined {
  return names.get(code);
}

/**
 * Errors a client may retry after refreshing metadata or waiting a little,
 * as in Kafka's RetriableException hierarchy.
 */
const RETRIABLE: ReadonlySet<number> = new Set([
  BrokerResponseCode.NOT_LEADER,
  BrokerResponseCode.NOT_ENOUGH_REPLICAS,
  BrokerResponseCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  BrokerResponseCode.REQUEST_TIMED_OUT,
  BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
  BrokerResponseCode.FENCED_LEADER_EPOCH,
  BrokerResponseCode.UNKNOWN_LEADER_EPOCH,
  BrokerResponseCode.LEADER_NOT_AVAILABLE,
  BrokerResponseCode.STORAGE_ERROR,
  BrokerResponseCode.BROKER_FENCED,
]);

export function isRetriableCode(code: number): boolean {
  return RETRIABLE.has(code);
}

/** Producer acks as Kafka spells them on the wire: 0, 1, or -1 for "all". */
export const Acks = { NONE: 0, LEADER: 1, ALL: -1 } as const;
export type Acks = (typeof Acks)[keyof typeof Acks];

export function parseAcks(text: string): Acks {
  if (text === '0') return Acks.NONE;
  if (text === '1') return Acks.LEADER;
  if (text === 'all' || text === '-1') return Acks.ALL;
  throw new RangeError(`acks must be 0, 1 or all, not ${JSON.stringify(text)}`);
}

export function acksName(acks: Acks): '0' | '1' | 'all' {
  return acks === Acks.NONE ? '0' : acks === Acks.LEADER ? '1' : 'all';
}

/** Replica id a consumer puts in a fetch (Kafka's CONSUMER_REPLICA_ID). */
export const CONSUMER_REPLICA_ID = -1;
/** No leader (Kafka's NO_LEADER / -1). */
export const NO_LEADER = -1;
/** A leader epoch the sender does not know or does not check (Kafka's UNDEFINED_EPOCH). */
export const UNDEFINED_EPOCH = -1;
