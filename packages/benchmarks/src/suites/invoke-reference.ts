/**
 * A published figure for RocketMQ's own sync call, quoted beside the invoke
 * suite's sync rows. Not measured here: another machine, another year, one
 * JVM holding client and server; read it as an order of magnitude.
 */
export interface JavaSyncReference {
  /** Who measured what, and where it is published. */
  source: string;
  /** Sync calls completed per second by one calling thread. */
  callsPerSec: number;
}

/**
 * Huang Li's comparison of RocketMQ remoting with a tuned RPC prototype
 * (github.com/areyouok/simple-rpc, README, 2021): rocketmq-remoting 4.9.1,
 * NettyRemotingClient.invokeSync from 1 client thread, 5-byte body, JSON
 * header (the default), client and server in one JVM on a Mac, 10 s run.
 * No latency percentiles were published; 1 / rate is the mean time per call.
 */
export const ROCKETMQ_JAVA_SYNC_REFERENCE: JavaSyncReference = {
  source:
    'RocketMQ Java remoting 4.9.1, invokeSync from 1 thread, 5 B body, JSON header, client and server in one JVM on a Mac ' +
    '(github.com/areyouok/simple-rpc README, 2021)',
  callsPerSec: 11_192,
};

/** One line for reports: the figure, its mean time per call, and where it comes from. */
export function describeJavaSyncReference(reference = ROCKETMQ_JAVA_SYNC_REFERENCE): string {
  const meanUs = Math.round(1e6 / reference.callsPerSec);
  return `RocketMQ Java sync reference (published, not measured here): ${reference.callsPerSec.toLocaleString('en-US')} calls/s, mean ${meanUs} µs per call; ${reference.source}`;
}
