/**
 * An EchoServer under node:cluster with nothing else: the primary forks the
 * workers, each listens on port 0 (node:cluster hands them all the one port
 * the primary binds) and the primary deals connections out round-robin. The
 * baselines use it, so that their multi-process figures come from the same
 * technique as remoting-ts's ServerCluster (which adds supervision, none of
 * it on the path of a request).
 */
import cluster, { type Worker } from 'node:cluster';
import type { ClusteredEchoServer, EchoServer } from './types.js';

type PrimaryMessage = { benchCluster: 'cpu'; id: number } | { benchCluster: 'stop' };
type WorkerMessage =
  | { benchCluster: 'listening'; port: number }
  | { benchCluster: 'failed'; message: string }
  | { benchCluster: 'cpu'; id: number; cpuUs: number };

function isOurs<T>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && 'benchCluster' in message;
}

function ownCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Generous: forking and loading a worker on a loaded two-core machine. */
const START_TIMEOUT_MS = 60_000;

function awaitListening(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cluster worker ${worker.id} did not listen within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onMessage = (message: unknown) => {
      if (!isOurs<WorkerMessage>(message)) return;
      if (message.benchCluster === 'listening') {
        clearTimeout(timer);
        resolve(message.port);
      } else if (message.benchCluster === 'failed') {
        clearTimeout(timer);
        reject(new Error(`cluster worker ${worker.id} failed to start: ${message.message}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cluster worker ${worker.id} exited (${signal ?? `code ${code}`}) before listening`));
    });
  });
}

/** In the primary: forks `count` workers (this script again) and waits until all listen. */
export async function startPlainCluster(count: number): Promise<ClusteredEchoServer> {
  const workers = Array.from({ length: count }, () => cluster.fork());
  const killAll = () => {
    for (const worker of workers) worker.process.kill('SIGKILL');
  };
  let ports: number[];
  try {
    ports = await Promise.all(workers.map(awaitListening));
  } catch (error) {
    killAll();
    throw error;
  }
  const port = ports[0] as number;
  if (ports.some((p) => p !== port)) {
    killAll();
    throw new Error(`cluster workers listen on different ports: ${ports.join(', ')}`);
  }
  let lastId = 0;
  const askCpu = (worker: Worker): Promise<number> => {
    if (worker.isDead() || !worker.isConnected()) return Promise.resolve(Number.NaN);
    const id = ++lastId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(Number.NaN), 1000);
      const onMessage = (message: unknown) => {
        if (isOurs<WorkerMessage>(message) && message.benchCluster === 'cpu' && message.id === id)
          finish(message.cpuUs);
      };
      const finish = (cpuUs: number) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(cpuUs);
      };
      worker.on('message', onMessage);
      worker.send({ benchCluster: 'cpu', id } satisfies PrimaryMessage);
    });
  };
  return {
    port,
    async cpuUs() {
      const each = await Promise.all(workers.map(askCpu));
      return each.reduce((sum, cpu) => sum + cpu, ownCpuUs());
    },
    async stop() {
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) {
                resolve();
                return;
              }
              const timer = setTimeout(() => worker.process.kill('SIGKILL'), 3000);
              worker.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              if (worker.isConnected()) worker.send({ benchCluster: 'stop' } satisfies PrimaryMessage);
              else worker.process.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}

/** In a worker forked by startPlainCluster: start `server`, report its port, serve until told to stop. */
export async function servePlainClusterWorker(server: EchoServer): Promise<void> {
  const send = (message: WorkerMessage) => process.send?.(message);
  let port: number;
  try {
    port = await server.start();
  } catch (error) {
    send({ benchCluster: 'failed', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  process.on('message', (message: unknown) => {
    if (!isOurs<PrimaryMessage>(message)) return;
    if (message.benchCluster === 'cpu') send({ benchCluster: 'cpu', id: message.id, cpuUs: ownCpuUs() });
    else {
      const exit = () => process.exit(0);
      server.stop().then(exit, exit);
    }
  });
  send({ benchCluster: 'listening', port });
}
