import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { ClusterStateFile } from '../src/cluster/local-cluster.js';
import { processStartTime } from '../src/cluster/process-identity.js';
import { PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { waitFor } from '../src/util/time.js';
import { CLI_MAIN, cliRunner } from './support/cli.js';

/*
 * `broker kill` and `broker restart` never signal a process that is not the
 * one the state file recorded, and without --dir they act only when exactly
 * one cluster of this user runs. The registry of running clusters lives in a
 * temp XDG_RUNTIME_DIR of this file's own, so other clusters on the machine
 * do not count; every process the tests start is stopped in afterEach/afterAll.
 */

let base: string;
let env: NodeJS.ProcessEnv;
const { cliOutcome } = cliRunner(() => env);
const started: ChildProcess[] = [];
const clusterDirs: string[] = [];

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'cli-safety-test-'));
  const runtime = path.join(base, 'runtime');
  mkdirSync(runtime, { mode: 0o700 });
  env = { ...process.env, XDG_RUNTIME_DIR: runtime };
});

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const force = setTimeout(() => child.kill('SIGKILL'), 8000);
    await gone;
    clearTimeout(force);
  }
  // A cluster that was SIGKILLed cannot stop its children: stop whatever its state file names that is still its.
  // Only a PID whose start time is still the recorded one: never a reused PID.
  for (const dir of clusterDirs.splice(0)) {
    for (const p of stateProcesses(dir))
      if (processStartTime(p.pid) === p.startTime) process.kill(p.pid, 'SIGKILL');
  }
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(dir: string): ClusterStateFile {
  return JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as ClusterStateFile;
}

function stateProcesses(dir: string): Array<{ pid: number; startTime: string | null }> {
  try {
    const s = readState(dir);
    return [...(s.controller === null ? [] : [s.controller]), ...s.brokers];
  } catch {
    return [];
  }
}

/** A process of our own that is certainly not a broker: the only PID these tests hand to a stale state file. */
async function bystander(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e5)'], { stdio: 'ignore' });
  started.push(child);
  await waitFor(
    'the bystander to start',
    () => (processStartTime(child.pid!) !== null ? true : undefined),
    5000,
  );
  return child;
}

async function startCluster(name: string, ...extra: string[]): Promise<{ child: ChildProcess; dir: string }> {
  const dir = path.join(base, name);
  clusterDirs.push(dir);
  let output = '';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI_MAIN,
      'cluster',
      '--brokers',
      '1',
      '--replication-factor',
      '1',
      '--min-insync',
      '1',
      '--dir',
      dir,
      ...extra,
    ],
    { cwd: PACKAGE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(child);
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor('the cluster to start', () => (/--bootstrap \S+/.test(output) ? true : undefined), 40_000);
  return { child, dir };
}

test('a stale state file whose PID is now another process is refused, and that process is left alone', async () => {
  const other = await bystander();
  const pid = other.pid!;
  const dir = path.join(base, 'stale');
  mkdirSync(dir);
  const info = (role: 'controller' | 'broker', brokerId: number | null, startTime: string | null) => ({
    role,
    brokerId,
    pid,
    address: '127.0.0.1:1',
    logFile: path.join(dir, 'x.log'),
    dir: path.join(dir, brokerId === null ? 'controller' : `broker-${brokerId}`),
    startTime,
    startedAtMs: 0,
  });
  const state: ClusterStateFile = {
    clusterDir: dir,
    startedBy: pid,
    startedByStartTime: processStartTime(pid),
    controller: info('controller', null, processStartTime(pid)),
    // Broker 1: the PID's start time matches (the PID was recorded for this very process) but it is no broker.
    // Broker 2: an older process that had the same PID (start time differs).
    brokers: [info('broker', 1, processStartTime(pid)), info('broker', 2, '1')],
  };
  writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify(state));

  const k1 = await cliOutcome('kill', '1', '--dir', dir);
  expect(k1.code).toBe(1);
  expect(k1.stderr).toMatch(
    new RegExp(`not signalling broker 1 of ${dir}: pid ${pid} was not started with "--id 1"`),
  );
  const k2 = await cliOutcome('kill', '2', '--dir', dir);
  expect(k2.code).toBe(1);
  expect(k2.stderr).toMatch(/started at tick \d+, not 1: it is another process now/);
  const kc = await cliOutcome('kill', 'controller', '--dir', dir);
  expect(kc.code).toBe(1);
  const r = await cliOutcome('restart', '--dir', dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/the cluster process of .* is not running/);
  expect(alive(pid)).toBe(true);
  expect(other.exitCode).toBeNull();
  expect(other.signalCode).toBeNull();
}, 60_000);

test('without --dir and no cluster running, kill refuses', async () => {
  const k = await cliOutcome('kill', '1');
  expect(k.code).toBe(1);
  expect(k.stderr).toMatch(/no cluster of yours is running/);
}, 30_000);

test('two clusters running: kill without --dir refuses and lists both; with one left it acts on it and says which', async () => {
  const a = await startCluster('cluster-a', '--controller-restart-ms', 'never');
  const b = await startCluster('cluster-b');
  const brokerA = readState(a.dir).brokers[0]!.pid;
  const brokerB = readState(b.dir).brokers[0]!.pid;

  const refused = await cliOutcome('kill', '1');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/2 clusters of yours are running; pass --dir/);
  expect(refused.stderr).toContain(a.dir);
  expect(refused.stderr).toContain(b.dir);
  expect(await cliOutcome('restart')).toMatchObject({ code: 1 });
  expect(alive(brokerA) && alive(brokerB)).toBe(true);

  // Cluster b stops (Ctrl-C) and unregisters; a is then the only one.
  const bGone = new Promise((resolve) => b.child.once('exit', resolve));
  b.child.kill('SIGINT');
  await bGone;
  const killed = await cliOutcome('kill', '1');
  expect(killed.code).toBe(0);
  expect(killed.stdout).toContain(`sent SIGKILL to broker 1 (pid ${brokerA}) of the cluster in ${a.dir}`);
  expect(killed.stdout).toContain('the only cluster of yours running');
  await waitFor('broker 1 of a to exit', () => (alive(brokerA) ? undefined : true), 10_000);

  const restarted = await cliOutcome('restart');
  expect(restarted.code).toBe(0);
  const newPid = await waitFor(
    'broker 1 of a to be restarted',
    () => {
      const pid = readState(a.dir).brokers[0]!.pid;
      return pid !== brokerA && alive(pid) ? pid : undefined;
    },
    20_000,
  );
  expect(newPid).not.toBe(brokerA);

  // The controller too: killed through the CLI (verified like a broker), started again by `restart`.
  const controllerPid = readState(a.dir).controller!.pid;
  expect((await cliOutcome('kill', 'controller')).stdout).toContain(
    `sent SIGKILL to the controller (pid ${controllerPid})`,
  );
  await waitFor('the controller of a to exit', () => (alive(controllerPid) ? undefined : true), 10_000);
  expect((await cliOutcome('restart')).code).toBe(0);
  await waitFor(
    'the controller of a to be restarted',
    () => {
      const pid = readState(a.dir).controller!.pid;
      return pid !== controllerPid && alive(pid) ? pid : undefined;
    },
    20_000,
  );
}, 120_000);
