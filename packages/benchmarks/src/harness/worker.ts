/**
 * Entry point of every child process: `worker.ts server <impl> [workers]`,
 * `worker.ts client <impl>` or `worker.ts codec`. With `workers`, the server
 * process is a node:cluster primary and its workers run this script again. It talks to the parent over
 * the IPC channel only, and exits when that channel closes, so a parent that
 * dies (even by SIGKILL) never leaves a server or client running.
 */

import cluster from 'node:cluster';
import { isImplName, loadImpl } from '../impls/index.js';
import type { EchoConnection } from '../impls/types.js';
import type { RunSample } from '../types.js';
import { type AllocationFigures, AllocationMeter } from './allocation.js';
import { runCodecCase } from './codec-runner.js';
import type { InvokeCaseSpec, ParentMessage, WorkerMessage } from './ipc.js';
import { type MarkRun, runOneway, runRequestResponse } from './measure.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** CPU time of this process so far, in µs. */
function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function runInvokeCase(id: number, port: number, spec: InvokeCaseSpec): Promise<RunSample[]> {
  const clientCpu = new Map<string, number>();
  const allocation = new Map<number, AllocationFigures>();
  const meter = new AllocationMeter();
  const mark: MarkRun = (run, edge) => {
    clientCpu.set(`${run}:${edge}`, cpuUs());
    if (edge === 'start') meter.start();
    else {
      const figures = meter.stop();
      if (figures !== null) allocation.set(run, figures);
    }
    send({ type: 'mark', id, run, edge });
  };
  const runs = await measureInvokeCase(port, spec, mark);
  runs.forEach((run, i) => {
    const spent = (clientCpu.get(`${i}:end`) ?? Number.NaN) - (clientCpu.get(`${i}:start`) ?? Number.NaN);
    run.clientCpuUsPerOp = run.count > 0 && Number.isFinite(spent) ? spent / run.count : null;
    const figures = allocation.get(i);
    run.clientHeapBytesPerOp = figures !== undefined && run.count > 0 ? figures.heapBytes / run.count : null;
    run.clientGcShare = figures?.gcShare ?? null;
  });
  return runs;
}

async function measureInvokeCase(port: number, spec: InvokeCaseSpec, mark: MarkRun): Promise<RunSample[]> {
  const impl = await loadImpl(spec.impl);
  const connections: EchoConnection[] = [];
  try {
    for (let i = 0; i < spec.connections; i++) {
      connections.push(
        await impl.connect({ host: '127.0.0.1', port, bodyBytes: spec.bodyBytes, serialize: spec.serialize }),
      );
    }
    if (spec.mode !== 'oneway') {
      return await runRequestResponse(connections, { ...spec, mode: spec.mode, mark });
    }
    // Oneway windows need a count query at each end, so each run is its own stretch.
    if (spec.warmupMs > 0) await runOneway(connections, spec.warmupMs);
    const runs: RunSample[] = [];
    for (let run = 0; run < spec.repeat; run++) {
      runs.push(await runOneway(connections, spec.durationMs, { run, mark }));
    }
    return runs;
  } finally {
    await Promise.allSettled(connections.map((c) => c.close()));
  }
}

/** `server <impl> <workers>` forked again by node:cluster: one of the server's workers. */
async function serveAsClusterWorker(implName: string | undefined): Promise<void> {
  if (implName === undefined || !isImplName(implName)) throw new Error(`unknown implementation ${implName}`);
  const impl = await loadImpl(implName);
  if (impl.serveClusterWorker === undefined) throw new Error(`${implName} does not run under node:cluster`);
  await impl.serveClusterWorker();
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('worker.ts runs only as a child of the bench command');
  process.on('disconnect', () => process.exit(0));
  const [role, implName, serverWorkers] = process.argv.slice(2);
  if (cluster.isWorker) {
    await serveAsClusterWorker(implName);
    return;
  }
  let stop: () => Promise<void> = async () => {};
  // A clustered server's CPU is its own plus every worker's.
  let serverCpuUs: () => number | Promise<number> = cpuUs;

  if (role === 'server') {
    if (implName === undefined || !isImplName(implName))
      throw new Error(`unknown implementation ${implName}`);
    const impl = await loadImpl(implName);
    if (serverWorkers !== undefined) {
      if (impl.startCluster === undefined) throw new Error(`${implName} does not run under node:cluster`);
      const servers = await impl.startCluster(Number(serverWorkers));
      stop = () => servers.stop();
      serverCpuUs = () => servers.cpuUs();
      send({ type: 'ready', port: servers.port });
    } else {
      const server = impl.createServer();
      const port = await server.start();
      stop = () => server.stop();
      send({ type: 'ready', port });
    }
  } else if (role === 'client' || role === 'codec') {
    send({ type: 'ready' });
  } else {
    throw new Error(`unknown worker role ${role}`);
  }

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cpu') {
      void Promise.resolve(serverCpuUs()).then(
        (spent) => send({ type: 'cpu', id: message.id, cpuUs: spent }),
        () => send({ type: 'cpu', id: message.id, cpuUs: Number.NaN }),
      );
      return;
    }
    if (message.type === 'stop') {
      // A normal exit (not a signal) is what lets --cpu-prof write its profile.
      const exit = () => process.exit(0);
      stop().then(exit, exit);
      setTimeout(exit, 2000).unref();
      return;
    }
    const id = message.id;
    const work =
      message.type === 'run-invoke'
        ? runInvokeCase(id, message.port, message.spec)
        : Promise.resolve().then(() => runCodecCase(message.spec));
    work.then(
      (runs) => send({ type: 'run-done', id, runs }),
      (error: unknown) => send({ type: 'run-failed', id, message: errorText(error) }),
    );
  });
}

main().catch((error: unknown) => {
  send({ type: 'fatal', message: errorText(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
