import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterWorkerExit, ClusterWorkerInfo, HostPort } from '../../src/index.js';
import { onCleanup } from './servers.js';

const testDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** An error as the fixture reports it. */
export interface ErrorFacts {
  name: string;
  code?: string;
  message: string;
  cause?: string;
}

/** What the fixture primary tells the test. */
export type FixtureEvent =
  | { event: 'started'; address: HostPort; workers: ClusterWorkerInfo[] }
  | { event: 'startFailed'; error: ErrorFacts }
  | { event: 'workerListening'; info: ClusterWorkerInfo }
  | { event: 'workerExit'; exit: Omit<ClusterWorkerExit, 'error'> & { error?: string } }
  | { event: 'stopped'; error?: ErrorFacts };

export interface ClusterFixture {
  primary: ChildProcess;
  /** Every event so far, in order. */
  events: FixtureEvent[];
  /** Resolves with the first event (already seen or still to come) that `match` accepts. */
  waitFor<E extends FixtureEvent>(match: (event: FixtureEvent) => event is E, what: string): Promise<E>;
  /** Sends a command to the primary and resolves with its answer. */
  command<T>(command: 'workers' | 'stats' | 'kill' | 'restart' | 'shutdown', slot?: number): Promise<T>;
  /** The primary's exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How long a cluster (a primary and its tsx workers) may take to do something on a loaded machine. */
export const CLUSTER_PATIENCE_MS = 60_000;

/**
 * Starts test/fixtures/cluster-server.ts as a cluster primary with an IPC
 * channel to the test. The primary is killed after the test if still alive;
 * its workers then exit on their own (node:cluster workers exit when their
 * primary's channel closes).
 */
export function startClusterFixture(env: Record<string, string> = {}): ClusterFixture {
  const primary = fork(path.join(testDir, 'fixtures', 'cluster-server.ts'), [], {
    cwd: path.join(testDir, '..'),
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup(() => {
    if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
  });
  const events: FixtureEvent[] = [];
  const listeners = new Set<() => void>();
  const replies = new Map<number, (reply: { result?: unknown; error?: ErrorFacts }) => void>();
  let lastId = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    primary.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const listener of listeners) listener();
    }),
  );
  primary.on('message', (message: FixtureEvent | { reply: number; result?: unknown; error?: ErrorFacts }) => {
    if ('reply' in message) {
      replies.get(message.reply)?.(message);
      replies.delete(message.reply);
      return;
    }
    events.push(message);
    for (const listener of listeners) listener();
  });
  const waitFor = <E extends FixtureEvent>(match: (event: FixtureEvent) => event is E, what: string) =>
    new Promise<E>((resolve, reject) => {
      const check = () => {
        const found = events.find(match);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (primary.exitCode !== null || primary.signalCode !== null) {
          done();
          reject(new Error(`the cluster primary exited before ${what}; events: ${JSON.stringify(events)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${CLUSTER_PATIENCE_MS} ms; events: ${JSON.stringify(events)}`));
      }, CLUSTER_PATIENCE_MS);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  const command = <T>(name: string, slot?: number) =>
    new Promise<T>((resolve, reject) => {
      const id = ++lastId;
      replies.set(id, (reply) => {
        if (reply.error !== undefined) reject(Object.assign(new Error(reply.error.message), reply.error));
        else resolve(reply.result as T);
      });
      primary.send({ id, command: name, slot });
    });
  return { primary, events, waitFor, command, exited };
}

/** Event matchers, so a test reads as what it waits for. */
export const on = {
  started: (e: FixtureEvent): e is Extract<FixtureEvent, { event: 'started' }> => e.event === 'started',
  startFailed: (e: FixtureEvent): e is Extract<FixtureEvent, { event: 'startFailed' }> =>
    e.event === 'startFailed',
  stopped: (e: FixtureEvent): e is Extract<FixtureEvent, { event: 'stopped' }> => e.event === 'stopped',
  exitOf:
    (workerId: number) =>
    (e: FixtureEvent): e is Extract<FixtureEvent, { event: 'workerExit' }> =>
      e.event === 'workerExit' && e.exit.workerId === workerId,
  listeningAfter:
    (slot: number, workerId: number) =>
    (e: FixtureEvent): e is Extract<FixtureEvent, { event: 'workerListening' }> =>
      e.event === 'workerListening' && e.info.slot === slot && e.info.workerId > workerId,
};

/** Waits for the cluster to start; throws with its report when it did not. */
export async function started(fixture: ClusterFixture): Promise<Extract<FixtureEvent, { event: 'started' }>> {
  const first = await fixture.waitFor(
    (e): e is Extract<FixtureEvent, { event: 'started' | 'startFailed' }> =>
      e.event === 'started' || e.event === 'startFailed',
    'a start report',
  );
  if (first.event === 'startFailed') throw new Error(`the cluster did not start: ${first.error.message}`);
  return first;
}
