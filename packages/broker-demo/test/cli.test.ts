import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ClusterStateFile } from '../src/cluster/local-cluster.js';
import { PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { waitFor } from '../src/util/time.js';

/*
 * The `pnpm broker` commands as a person runs them: `cluster` in one process,
 * the others as separate processes pointed at it.
 */

const run = promisify(execFile);
const MAIN = path.join(PACKAGE_DIR, 'src/cli/main.ts');
let dir: string;
let cluster: ChildProcess;
let output = '';
let bootstrap = '';

function cli(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: PACKAGE_DIR, timeout: 30_000 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function statePids(): number[] {
  try {
    const state = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as ClusterStateFile;
    return [state.controller!.pid, ...state.brokers.map((b) => b.pid)];
  } catch {
    return [];
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-cli-test-'));
  cluster = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'cluster',
      '--brokers',
      '3',
      '--partitions',
      '2',
      '--replication-factor',
      '3',
      '--min-insync',
      '2',
      '--dir',
      dir,
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cluster.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  bootstrap = await waitFor(
    'the cluster to print its bootstrap address',
    () => /--bootstrap (\S+)/.exec(output)?.[1],
    30_000,
  );
}, 40_000);

afterAll(async () => {
  // Whatever happened in the tests, nothing this file started survives it.
  const pids = statePids();
  if (cluster.exitCode === null) cluster.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('cluster prints every process with its address and pid', () => {
  expect(output).toMatch(/controller\s+127\.0\.0\.1:\d+\s+pid \d+/);
  for (const id of [1, 2, 3])
    expect(output).toMatch(new RegExp(`broker ${id}\\s+127\\.0\\.0\\.1:\\d+\\s+pid \\d+`));
});

test('produce --json prints one line per acknowledged record; consume reads them back; describe shows the replicas', async () => {
  const produced = await cli(
    'produce',
    '--bootstrap',
    bootstrap,
    '--topic',
    'cli',
    '--acks',
    'all',
    '--count',
    '6',
    '--json',
  );
  const acked = produced.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { partition: number; offset: number; key: string });
  expect(acked).toHaveLength(6);
  expect(new Set(acked.map((a) => a.partition))).toEqual(new Set([0, 1]));
  expect(produced.stderr).toMatch(/"acknowledged":6/);

  const consumed = await cli(
    'consume',
    '--bootstrap',
    bootstrap,
    '--topic',
    'cli',
    '--from-beginning',
    '--json',
  );
  const keys = consumed.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { key: string }).key);
  expect(keys.sort()).toEqual(acked.map((a) => a.key).sort());

  const described = await cli('describe', '--bootstrap', bootstrap, '--topic', 'cli');
  expect(described.stdout).toMatch(/cli-0: leader \d, epoch 0, ISR \[/);
  expect(described.stdout).toMatch(/broker \d: (leader|follower)\s+LEO 3\s+HW 3/);
}, 60_000);

test('kill finds the broker in the state file, and the cluster moves its leadership', async () => {
  const killed = await cli('kill', '1', '--dir', dir);
  expect(killed.stdout).toMatch(/sent SIGKILL to broker 1/);
  await waitFor(
    'a leader other than broker 1 for cli-0',
    async () => {
      const { stdout } = await cli('describe', '--bootstrap', bootstrap, '--topic', 'cli');
      return /cli-0: leader [23], epoch 1/.test(stdout) ? true : undefined;
    },
    20_000,
    300,
  );
}, 40_000);

test('SIGINT stops the cluster and every process it started', async () => {
  const pids = statePids();
  expect(pids.length).toBe(4);
  const exited = new Promise<void>((resolve) => cluster.once('exit', () => resolve()));
  cluster.kill('SIGINT');
  await exited;
  await waitFor(
    'every cluster process to exit',
    () => (pids.every((pid) => !alive(pid)) ? true : undefined),
    10_000,
  );
}, 30_000);
