/**
 * What the primary and its workers tell each other, over the IPC channel
 * node:cluster opens. Every message carries `channel` so that the user's own
 * `worker.send()` messages pass by untouched, in both directions.
 */
import type { EndpointStats } from '../remoting/remoting-endpoint.js';

/** Marks a message as ours. */
export const CLUSTER_CHANNEL = 'remoting-ts/cluster';

/**
 * How a worker learns its assignment: environment variables set at fork, so
 * the factory can run before any message arrives.
 */
export const ClusterEnv = {
  SLOT: 'REMOTING_CLUSTER_SLOT',
  HOST: 'REMOTING_CLUSTER_HOST',
  PORT: 'REMOTING_CLUSTER_PORT',
} as const;

/** An error as it crosses a process boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code: string | undefined;
  stack: string | undefined;
}

/** One worker's figures, as its process measures them. */
export interface WorkerFigures {
  server: EndpointStats;
  /** process.cpuUsage() of the worker: user and system CPU time in µs. */
  cpuUsage: { user: number; system: number };
  /** process.memoryUsage().rss of the worker, in bytes. */
  rssBytes: number;
}

export type WorkerToPrimary =
  | { channel: typeof CLUSTER_CHANNEL; type: 'listening'; host: string; port: number }
  | { channel: typeof CLUSTER_CHANNEL; type: 'start-failed'; error: SerializedError }
  | { channel: typeof CLUSTER_CHANNEL; type: 'stats'; requestId: number; figures: WorkerFigures };

export type PrimaryToWorker =
  | { channel: typeof CLUSTER_CHANNEL; type: 'stats'; requestId: number }
  | { channel: typeof CLUSTER_CHANNEL; type: 'shutdown'; graceMs: number };

/** True for a message of ours (either direction); anything else belongs to the user. */
export function isClusterMessage<T extends WorkerToPrimary | PrimaryToWorker>(
  message: unknown,
): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { channel?: unknown }).channel === CLUSTER_CHANNEL
  );
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      code: typeof code === 'string' ? code : undefined,
      stack: error.stack,
    };
  }
  return { name: 'Error', message: String(error), code: undefined, stack: undefined };
}

/** The worker's error, rebuilt here: its stack is the worker's, not this process's. */
export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.code !== undefined) (error as Error & { code: string }).code = serialized.code;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}
