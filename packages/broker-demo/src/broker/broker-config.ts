import type { FlushPolicy } from '../log/index.js';

export interface BrokerConfig {
  brokerId: number;
  /** Where to listen: 127.0.0.1 for a cluster on one machine, the machine's address for `broker start` on several. */
  host: string;
  port: number;
  /** The address registered for others to connect to, when it is not `host:port` (NAT, a proxy). */
  advertise?: { host: string; port: number };
  /** This broker's directory; each partition replica gets a subdirectory. */
  dataDir: string;
  controllerAddress: string;
  /** Kafka's replica.lag.time.max.ms. */
  replicaLagTimeMaxMs: number;
  heartbeatIntervalMs: number;
  /** Long-poll wait of follower fetches (Kafka's replica.fetch.wait.max.ms). */
  replicaFetchWaitMaxMs: number;
  replicaFetchMaxBytes: number;
  flush: FlushPolicy;
  segmentBytes?: number;
  /** CRC-check every segment of every partition on start, not only the last (--verify-segments). */
  verifySegmentsOnStart?: boolean;
}

/** Timeouts of the broker's calls to the controller. */
export const BROKER_TIMINGS = {
  /** A heartbeat unanswered this long counts as a miss; the loop simply tries again. */
  heartbeatTimeoutMs: 2000,
  /** AlterIsr and leadership resignation requests. */
  controllerRequestTimeoutMs: 3000,
  connectTimeoutMs: 1000,
} as const;

export const BROKER_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  replicaLagTimeMaxMs: 1500,
  heartbeatIntervalMs: 300,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 1024 * 1024,
  flush: { mode: 'interval', intervalMs: 200 },
} as const satisfies Partial<BrokerConfig>;
