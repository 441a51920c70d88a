import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { ClusterClient } from '../src/client/cluster-client.js';
import { DirectoryInUseError, LOCK_FILE, lockDirectory } from '../src/cluster/dir-lock.js';
import { type ClusterStateFile, LocalCluster } from '../src/cluster/local-cluster.js';
import { processStartTime } from '../src/cluster/process-identity.js';
import { bundledEntry, entryPoint, PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { createTopicWithFullIsr, DEMO_TIMINGS, waitForFullIsr } from '../src/scenarios/scenario-kit.js';
import { waitFor } from '../src/util/time.js';
import { CLI_MAIN, cliOutcome } from './support/cli.js';

const run = promisify(execFile);

/*
 * A lock per data directory (the cluster's, each broker's, the controller's),
 * held for the process's life: a second cluster or broker pointed at a
 * directory in use refuses, names the holder and touches nothing; a lock left
 * by a SIGKILLed process does not stand in the way of its restart. Real
 * processes throughout; the only signals sent go to processes this file
 * started.
 */

let base: string;
const started: ChildProcess[] = [];
const clusterDirs: string[] = [];

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'dir-lock-test-'));
});

afterEach(async () => {
  await LocalCluster.stopAll();
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await gone;
  }
  // A cluster process SIGKILLed by a test cannot stop its children: stop those still verifiably its.
  for (const dir of clusterDirs.splice(0)) {
    for (const p of stateProcesses(dir)) {
      if (p.startTime !== null && processStartTime(p.pid) === p.startTime) process.kill(p.pid, 'SIGKILL');
    }
  }
}, 60_000);

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

function stateProcesses(dir: string): Array<{ pid: number; startTime: string | null }> {
  try {
    const s = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as ClusterStateFile;
    // These clusters run the built-in controller: index 0 is it, index N broker N.
    return s.controller === null ? [] : [s.controller, ...s.brokers];
  } catch {
    return [];
  }
}

/** `broker cluster --dir DIR` as its own process; resolves once it prints its bootstrap address. */
async function startClusterCommand(dir: string): Promise<{ child: ChildProcess; bootstrap: string }> {
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
      '2',
      '--replication-factor',
      '2',
      '--min-insync',
      '1',
      '--no-view',
      '--dir',
      dir,
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(child);
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const bootstrap = await waitFor(
    'the cluster to print its bootstrap address',
    () => /bootstrap with --bootstrap (\S+)/.exec(output)?.[1],
    60_000,
  );
  return { child, bootstrap };
}

/** Every file under `dir` with its size and mtime: what "touches nothing" is checked against. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const s = statSync(file);
    files.set(path.relative(dir, file), `${s.size} bytes, mtime ${s.mtimeMs}`);
  }
  return files;
}

test('a second cluster on a directory in use refuses, names the holder, and touches nothing; the first keeps working', async () => {
  const dir = path.join(base, 'shared');
  const first = await startClusterCommand(dir);
  const pidsBefore = stateProcesses(dir).map((p) => p.pid);
  const stateBefore = readFileSync(path.join(dir, 'cluster.json'), 'utf8');
  // Logs are appended to only by what happens in the cluster; nothing happens while it idles.
  const filesBefore = tree(dir);

  const second = await cliOutcome(
    'cluster',
    '--brokers',
    '2',
    '--replication-factor',
    '2',
    '--no-view',
    '--dir',
    dir,
  );

  expect(second.code).toBe(1);
  expect(second.stderr).toContain('[DIRECTORY_IN_USE]');
  expect(second.stderr).toContain(`${dir} is in use by the cluster command "broker cluster --brokers 2`);
  expect(second.stderr).toContain(`(pid ${first.child.pid}, since `);
  expect(second.stderr).toContain('nothing was changed');
  expect(tree(dir)).toEqual(filesBefore);
  expect(readFileSync(path.join(dir, 'cluster.json'), 'utf8')).toBe(stateBefore);
  // The first cluster's processes are the same ones, and serve.
  expect(stateProcesses(dir).map((p) => p.pid)).toEqual(pidsBefore);
  expect((await cliOutcome('create-topic', '--bootstrap', first.bootstrap, '--topic', 'still')).code).toBe(0);
  const produced = await cliOutcome(
    'produce',
    '--bootstrap',
    first.bootstrap,
    '--topic',
    'still',
    '--count',
    '3',
  );
  expect(produced.stdout).toMatch(/"acknowledged":3/);
}, 180_000);

test('a broker started on a data directory a running broker holds refuses and names that broker', async () => {
  const dir = path.join(base, 'broker');
  const cluster = await LocalCluster.start({
    ...DEMO_TIMINGS,
    brokers: 2,
    partitions: 1,
    replicationFactor: 2,
    minInsync: 1,
    dir,
  });
  const holder = cluster.brokerInfo(1)!;

  const intruder = await run(
    process.execPath,
    [
      await bundledEntry(entryPoint('broker/main.ts')),
      '--id',
      '7',
      '--dir',
      holder.dir,
      '--controller',
      cluster.controllerAddress,
    ],
    { timeout: 60_000 },
  ).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );

  expect(intruder.code).toBe(1);
  expect(intruder.stderr).toContain(
    `refusing to start: ${holder.dir} is in use by broker 1 (controller ${cluster.controllerAddress}) (pid ${holder.pid}`,
  );
  // Broker 1 still holds its lock and leads.
  const lock = JSON.parse(readFileSync(path.join(holder.dir, LOCK_FILE), 'utf8')) as { pid: number };
  expect(lock.pid).toBe(holder.pid);
  const client = new ClusterClient(cluster.controllerAddress);
  try {
    await createTopicWithFullIsr(client, 'held', 2);
  } finally {
    await client.close();
  }
}, 120_000);

test('a lock left behind by SIGKILL does not block a restart: a broker, and a whole cluster', async () => {
  const dir = path.join(base, 'stale');
  const first = await startClusterCommand(dir);
  const brokerBefore = stateProcesses(dir)[1]!;
  // The `cluster` process dies without a word; its children see their parent gone and stop.
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  const clusterLock = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number };
  expect(clusterLock.pid).toBe(first.child.pid);
  await waitFor(
    'the orphaned processes to stop',
    () => (processStartTime(brokerBefore.pid) === null ? true : undefined),
    30_000,
  );

  // The cluster starts again on the same directory: the lock's holder is gone.
  const again = await startClusterCommand(dir);
  expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: again.child.pid });

  // A broker SIGKILLed leaves its own lock; the cluster restarts it on its directory.
  const client = new ClusterClient(again.bootstrap);
  try {
    await createTopicWithFullIsr(client, 'back', 2);
    const broker2 = stateProcesses(dir)[2]!;
    process.kill(broker2.pid, 'SIGKILL');
    await waitFor(
      'broker 2 to exit',
      () => (processStartTime(broker2.pid) === null ? true : undefined),
      30_000,
    );
    expect(JSON.parse(readFileSync(path.join(dir, 'broker-2', LOCK_FILE), 'utf8'))).toMatchObject({
      pid: broker2.pid,
    });
    expect((await cliOutcome('restart', '--dir', dir)).code).toBe(0);
    const restarted = await waitFor(
      'broker 2 to be restarted',
      () => {
        const now = stateProcesses(dir)[2]!;
        return now.pid !== broker2.pid && processStartTime(now.pid) === now.startTime ? now : undefined;
      },
      60_000,
    );
    expect(JSON.parse(readFileSync(path.join(dir, 'broker-2', LOCK_FILE), 'utf8'))).toMatchObject({
      pid: restarted.pid,
    });
    await waitForFullIsr(client, 'back', 2, 60_000);
    const log = readFileSync(path.join(dir, 'broker-2.log'), 'utf8');
    expect(log).toContain(
      `took over the lock of ${path.join(dir, 'broker-2')}: its holder (pid ${broker2.pid}) is gone`,
    );
  } finally {
    await client.close();
  }
}, 180_000);

test('a lock naming a live process that is not the one recorded (a reused PID) is stale; the recorded one is not', async () => {
  const dir = mkdtempSync(path.join(base, 'reused-'));
  const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e5)'], { stdio: 'ignore' });
  started.push(bystander);
  const pid = bystander.pid!;
  const startTime = await waitFor('the bystander to start', () => processStartTime(pid) ?? undefined, 10_000);
  const lockFile = path.join(dir, LOCK_FILE);

  // The PID is alive and its start time is the one recorded: in use, and the file is left as it was.
  const live = `${JSON.stringify({ pid, startTime, description: 'broker 5', since: 'earlier' })}\n`;
  writeFileSync(lockFile, live);
  expect(() => lockDirectory(dir, 'a test')).toThrow(DirectoryInUseError);
  expect(() => lockDirectory(dir, 'a test')).toThrow(
    `${dir} is in use by broker 5 (pid ${pid}, since earlier;`,
  );
  expect(readFileSync(lockFile, 'utf8')).toBe(live);

  // The same live PID with another start time: the process that locked is gone, the PID reused.
  writeFileSync(lockFile, JSON.stringify({ pid, startTime: '1', description: 'broker 5', since: 'earlier' }));
  const lock = lockDirectory(dir, 'a test');
  expect(lock.replaced).toMatchObject({ pid, description: 'broker 5' });
  expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({
    pid: process.pid,
    description: 'a test',
  });
  lock.release();
  expect(readdirSync(dir)).toEqual([]);
  expect(bystander.exitCode).toBeNull();
  expect(bystander.signalCode).toBeNull();
}, 60_000);
