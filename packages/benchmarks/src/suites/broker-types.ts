/** The broker suite's figures: what the JSON report's broker rows and the broker tables hold. */

export type BrokerAcks = '0' | '1' | 'all';

/** Who coordinates the cluster: the built-in controller process, or etcd (one broker elected controller there). */
export type BrokerCoordination = 'controller' | 'etcd';

/** One measured repetition of a produce row (see broker-load.ts). */
export interface BrokerRunSample {
  records: number;
  elapsedSec: number;
  recordsPerSec: number;
  mbPerSec: number;
  produceP50Ms: number;
  produceP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  errors: number;
  firstError?: string;
}

/** One row of the broker table: medians over the runs. */
export interface BrokerBenchResult {
  suite: 'broker';
  /** Stable row id, e.g. "rf3-acks-all-3p". */
  row: string;
  replicationFactor: number;
  acks: BrokerAcks;
  producers: number;
  coordination: BrokerCoordination;
  partitions: number;
  valueBytes: number;
  recordsPerSec: number;
  /** Record values only (100 B each), in MB = 10^6 bytes per second. */
  mbPerSec: number;
  produceP50Ms: number;
  produceP99Ms: number;
  /** Produce → a consumer sees the record (which is once it is below the HW). */
  e2eP50Ms: number;
  e2eP99Ms: number;
  errors: number;
  /** Kafka's published figure for the same shape, where there is one. */
  kafkaRecordsPerSec: number | null;
  runs: BrokerRunSample[];
}

/** How a fetch's bytes get from the log file to the socket. */
export type FetchPath = 'pooled-pread' | 'naive-copy';

export interface FetchPathSample {
  mbPerSec: number;
  /** CPU the serving process spent per MB sent, user + system. */
  serverCpuMsPerMb: number;
}

export interface FetchPathResult {
  suite: 'broker';
  row: string;
  path: FetchPath;
  /** What each path does, copy by copy. */
  description: string;
  fetchMaxBytes: number;
  mbPerSec: number;
  serverCpuMsPerMb: number;
  runs: FetchPathSample[];
}

/** Kafka's published 3-broker figures for 100 B records, quoted beside ours. */
export interface KafkaReference {
  source: string;
  acks1RecordsPerSec: number;
  acksAllRecordsPerSec: number;
  /** acks=all / acks=1 with RF=3. */
  acksAllOverAcks1: number;
}

export interface BrokerSection {
  results: BrokerBenchResult[];
  fetchPath: FetchPathResult[];
  kafka: KafkaReference;
  /** Ours, from this run's RF=3 rows: acks=all / acks=1; null when either row is missing. */
  acksAllOverAcks1: number | null;
  /** RF=3 acks=all, one producer: the etcd-coordinated cluster / the built-in controller's, same run; null when either is missing. */
  etcdAcksAllOverController: number | null;
  settings: {
    brokers: number;
    partitions: number;
    valueBytes: number;
    batchSizeBytes: number;
    lingerMs: number;
    maxInFlight: number;
    bufferMemoryBytes: number;
    warmupMs: number;
    durationMs: number;
    repeat: number;
  };
  notes: string[];
}

/**
 * Jay Kreps, "Benchmarking Apache Kafka: 2 Million Writes Per Second (On
 * Three Cheap Machines)", 2014: 3 brokers, 6 partitions, 100 B records, one
 * producer. "3x asynchronous replication" is acks=1, "3x synchronous" acks=all.
 */
export const KAFKA_REFERENCE: KafkaReference = {
  source:
    'Kafka, 3 brokers (6 cores each), RF=3, 100 B records, 1 producer (Kreps, "Benchmarking Apache Kafka: 2 Million Writes Per Second", 2014)',
  acks1RecordsPerSec: 786_980,
  acksAllRecordsPerSec: 421_823,
  acksAllOverAcks1: 421_823 / 786_980,
};

/** Kafka's figure for a row shape, from the same article; null where it published none. */
export function kafkaFigureFor(row: {
  replicationFactor: number;
  acks: BrokerAcks;
  producers: number;
}): number | null {
  if (row.producers !== 1) return row.replicationFactor === 3 && row.acks === '1' ? 2_024_032 : null;
  if (row.replicationFactor === 1 && row.acks === '1') return 821_557;
  if (row.replicationFactor === 3 && row.acks === '1') return KAFKA_REFERENCE.acks1RecordsPerSec;
  if (row.replicationFactor === 3 && row.acks === 'all') return KAFKA_REFERENCE.acksAllRecordsPerSec;
  return null;
}
