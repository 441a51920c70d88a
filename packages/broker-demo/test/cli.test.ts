import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ClusterClient } from '../src/client/cluster-client.js';
import { Producer } from '../src/client/producer/producer.js';
import type { ClusterStateFile } from '../src/cluster/local-cluster.js';
import { PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { Acks } from '../src/protocol/codes.js';
import { waitFor } from '../src/util/time.js';
import { CLI_MAIN, cli, cliFailure } from './support/cli.js';

/*
 * The `pnpm broker` commands as a person runs them: `cluster` in one process,
 * the others as separate processes pointed at it.
 */

let dir: string;
let cluster: ChildProcess;
let output = '';
let bootstrap = '';

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
      CLI_MAIN,
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
}, 60_000);

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

test('cluster tells what to run next, each command spelled with npx -y pnpm@10', () => {
  expect(output).toContain(`npx -y pnpm@10 broker create-topic --bootstrap ${bootstrap} --topic t`);
  expect(output).toContain('`npx -y pnpm@10 broker restart`');
  expect(output).not.toMatch(/(^|[^@\d])pnpm broker/m);
});

test('reading a topic that does not exist creates nothing: describe and consume fail with UNKNOWN_TOPIC_OR_PARTITION', async () => {
  for (const command of ['describe', 'consume']) {
    const failed = await cliFailure(command, '--bootstrap', bootstrap, '--topic', 'nosuch');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('[UNKNOWN_TOPIC_OR_PARTITION]');
    expect(failed.stderr).toContain(
      `topic nosuch does not exist; create it with: npx -y pnpm@10 broker create-topic --bootstrap ${bootstrap} --topic nosuch`,
    );
  }
  // Still unknown after those reads: nothing created it.
  expect((await cliFailure('describe', '--bootstrap', bootstrap, '--topic', 'nosuch')).code).toBe(1);
  const produced = await cliFailure('produce', '--bootstrap', bootstrap, '--topic', 'nosuch', '--count', '1');
  expect(produced.code).toBe(1);
  expect(produced.stderr).toContain(
    '[UNKNOWN_TOPIC_OR_PARTITION]: topic nosuch does not exist; create it with',
  );
}, 120_000);

test('create-topic creates a topic once; a second time is refused unless --if-not-exists', async () => {
  const created = await cli('create-topic', '--bootstrap', bootstrap, '--topic', 'made', '--partitions', '3');
  expect(created.stdout).toMatch(/topic made: 3 partition\(s\), replication factor 3/);
  expect(created.stdout).toMatch(/made-2: leader \d, replicas \[\d,\d,\d\], ISR \[\d,\d,\d\]/);
  const again = await cliFailure('create-topic', '--bootstrap', bootstrap, '--topic', 'made');
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/\[TOPIC_ALREADY_EXISTS\]: .*topic made already exists/);
  expect(
    (await cli('create-topic', '--bootstrap', bootstrap, '--topic', 'made', '--if-not-exists')).stdout,
  ).toMatch(/topic made: 3 partition/);
  const bad = await cliFailure('create-topic', '--bootstrap', bootstrap, '--topic', 'no/slash');
  expect(bad.stderr).toContain('[INVALID_TOPIC]');
  const tooMany = await cliFailure(
    'create-topic',
    '--bootstrap',
    bootstrap,
    '--topic',
    'rf4',
    '--replication-factor',
    '4',
  );
  expect(tooMany.stderr).toMatch(/\[INVALID_REPLICATION_FACTOR\].*replication factor 4: 3 broker\(s\) alive/);
}, 120_000);

test('create-topic --min-insync gives a topic its own min.insync.replicas: acks=all to it is refused once its ISR is smaller', async () => {
  const created = await cli(
    'create-topic',
    '--bootstrap',
    bootstrap,
    '--topic',
    'strict',
    '--partitions',
    '1',
    '--min-insync',
    '3',
  );
  expect(created.stdout).toMatch(
    /topic strict: 1 partition\(s\), replication factor 3, min\.insync\.replicas 3/,
  );
  const tooStrict = await cliFailure(
    'create-topic',
    '--bootstrap',
    bootstrap,
    '--topic',
    'stricter',
    '--replication-factor',
    '2',
    '--min-insync',
    '3',
  );
  expect(tooStrict.code).toBe(1);
  expect(tooStrict.stderr).toContain('[INVALID_CONFIG]');
  const leader = Number(/strict-0: leader (\d)/.exec(created.stdout)?.[1]);
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const client = new ClusterClient(bootstrap);
  const isrOf = async () => {
    await client.refresh('strict');
    return client.partitionState('strict', 0)?.isr ?? [];
  };
  try {
    await cli('kill', String(follower), '--signal', 'STOP', '--dir', dir);
    try {
      await waitFor(
        `paused broker ${follower} out of strict-0's ISR`,
        async () => ((await isrOf()).includes(follower) ? undefined : true),
        60_000,
        100,
      );
      const producer = new Producer(client, { acks: Acks.ALL, retries: 0 });
      const refused: unknown = await producer
        .send({ topic: 'strict', partition: 0, value: Buffer.from('x') })
        .catch((err: unknown) => err);
      await producer.close();
      expect(refused).toMatchObject({ code: 'NOT_ENOUGH_REPLICAS', maybeAppended: false });
      // The topic's own 3 refused it: the cluster's --min-insync 2 is met by two replicas.
      expect(String((refused as Error).cause)).toContain('min.insync.replicas is 3');
    } finally {
      await cli('kill', String(follower), '--signal', 'CONT', '--dir', dir);
    }
    await waitFor(
      `broker ${follower} back in strict-0's ISR`,
      async () => ((await isrOf()).includes(follower) ? true : undefined),
      60_000,
      100,
    );
  } finally {
    await client.close();
  }
}, 180_000);

test("usage errors exit 2 with the command's usage on stderr; COMMAND --help prints it and exits 0", async () => {
  const missing = await cliFailure('consume', '--bootstrap', bootstrap);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(
    /^broker consume: --topic is required\nusage: npx -y pnpm@10 broker consume /,
  );
  const unknownOption = await cliFailure('produce', '--bootstrap', bootstrap, '--topic', 't', '--acks', '2');
  expect(unknownOption.code).toBe(2);
  expect(unknownOption.stderr).toMatch(/acks must be 0, 1 or all[\s\S]*usage: npx -y pnpm@10 broker produce/);
  const strayFlag = await cliFailure('describe', '--bootstrap', bootstrap, '--topic', 't', '--bogus');
  expect(strayFlag.code).toBe(2);
  expect(strayFlag.stderr).toMatch(/--bogus[\s\S]*usage: npx -y pnpm@10 broker describe/);
  const help = await cli('consume', '--help');
  expect(help.stdout).toMatch(/^usage: npx -y pnpm@10 broker consume .*--offset N/);
  expect(help.stderr).toBe('');
  const all = await cli('--help');
  for (const name of ['cluster', 'create-topic', 'produce', 'consume', 'describe', 'kill', 'restart'])
    expect(all.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  const unknown = await cliFailure('bogus');
  expect(unknown.code).toBe(2);
}, 120_000);

test('produce --json prints one line per acknowledged record; consume reads them back; describe shows the replicas', async () => {
  await cli('create-topic', '--bootstrap', bootstrap, '--topic', 'cli');
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

  // --offset N starts each partition there (or one partition with --partition).
  const fromOne = await cli(
    'consume',
    '--bootstrap',
    bootstrap,
    '--topic',
    'cli',
    '--partition',
    '1',
    '--offset',
    '1',
    '--json',
  );
  const offsets = fromOne.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { partition: number; offset: number });
  expect(offsets).toEqual([
    { partition: 1, offset: 1, key: expect.any(String), leaderEpoch: 0 },
    { partition: 1, offset: 2, key: expect.any(String), leaderEpoch: 0 },
  ]);
  expect(fromOne.stderr).toContain('consumed 2 committed record(s)');
}, 120_000);

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
