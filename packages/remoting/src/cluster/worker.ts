import cluster from 'node:cluster';
import type { RemotingServer } from '../server.js';
import {
  CLUSTER_CHANNEL,
  ClusterEnv,
  isClusterMessage,
  type PrimaryToWorker,
  serializeError,
  type WorkerToPrimary,
} from './messages.js';

/** What a worker's server factory is told. */
export interface ClusterWorkerContext {
  /** Interface to bind: give it to `RemotingServerOptions.host`. */
  host: string;
  /**
   * Port to listen on: give it to `RemotingServerOptions.port`. 0 when the
   * cluster's port is OS-chosen (node:cluster hands every worker the same
   * one); the chosen port itself when every worker that shared it has exited.
   */
  port: number;
  /** The worker's place in the cluster, 0..workers-1; a replacement takes over its predecessor's. */
  slot: number;
  /** `cluster.worker.id`: unique to this process, never reused. */
  workerId: number;
}

/**
 * Builds the worker's server: create it with `host` and `port` from the
 * context and register its processors. Starting it is optional; the worker
 * starts it if the factory did not.
 */
export type ClusterServerFactory = (
  context: ClusterWorkerContext,
) => RemotingServer | Promise<RemotingServer>;

function send(message: WorkerToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

function assignment(workerId: number): ClusterWorkerContext {
  const slot = Number(process.env[ClusterEnv.SLOT]);
  const host = process.env[ClusterEnv.HOST];
  const port = Number(process.env[ClusterEnv.PORT]);
  if (!Number.isInteger(slot) || host === undefined || !Number.isInteger(port)) {
    throw new Error(
      'runClusterWorker() found no assignment in its environment: it runs in a worker forked by startServerCluster()',
    );
  }
  return { host, port, slot, workerId };
}

/**
 * The worker half of a {@link ServerCluster}: call it in every process that
 * `startServerCluster()` forks (where `cluster.isWorker` is true). Builds the
 * server with `createServer`, starts it, tells the primary where it listens,
 * answers the primary's stats queries, and shuts the server down gracefully
 * when the primary says so (then disconnects; the process exits once nothing
 * else of yours keeps it alive, or the primary kills it `killAfterMs` later).
 *
 * SIGINT is ignored in the worker: a terminal's Ctrl-C reaches every process
 * of the group, and the primary decides how workers stop.
 *
 * @returns the started server.
 * @throws Error when not in a worker forked by `startServerCluster()`; whatever
 *   the factory or `start()` throws (the primary is told, and stops this worker).
 */
export async function runClusterWorker(createServer: ClusterServerFactory): Promise<RemotingServer> {
  const worker = cluster.worker;
  if (!cluster.isWorker || worker === undefined)
    throw new Error('runClusterWorker() runs in a cluster worker; call startServerCluster() in the primary');
  const context = assignment(worker.id);
  process.on('SIGINT', () => {});
  let server: RemotingServer | undefined;
  try {
    server = await createServer(context);
    await server.start();
    const { port } = server.address();
    if (context.port !== 0 && port !== context.port) {
      throw new Error(
        `the factory's server listens on port ${port}, not on the cluster's port ${context.port}: ` +
          'give context.port to RemotingServerOptions.port',
      );
    }
  } catch (error) {
    await server?.shutdown({ graceMs: 0 }).catch(() => {});
    await send({ channel: CLUSTER_CHANNEL, type: 'start-failed', error: serializeError(error) });
    throw error;
  }
  const started = server;
  let stopping = false;
  const onMessage = (message: unknown): void => {
    if (!isClusterMessage<PrimaryToWorker>(message)) return;
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      void send({
        channel: CLUSTER_CHANNEL,
        type: 'stats',
        requestId: message.requestId,
        figures: {
          server: started.stats(),
          cpuUsage: { user: cpu.user, system: cpu.system },
          rssBytes: process.memoryUsage.rss(),
        },
      });
    } else if (message.type === 'shutdown' && !stopping) {
      stopping = true;
      // Graceful: a request that arrives while this worker drains is answered GO_AWAY (SYSTEM_BUSY for
      // clients that did not opt in) instead of waiting unread until the connection closes, so a
      // client reconnects, and the primary hands the new connection to a worker that stays.
      void started
        .shutdown({ graceful: true, graceMs: message.graceMs })
        .finally(() => {
          process.off('message', onMessage);
          if (worker.isConnected()) worker.disconnect();
        })
        .catch(() => {});
    }
  };
  process.on('message', onMessage);
  const { host, port } = started.address();
  await send({ channel: CLUSTER_CHANNEL, type: 'listening', host, port });
  return started;
}
