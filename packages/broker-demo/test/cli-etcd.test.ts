import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LOCK_FILE } from '../src/cluster/dir-lock.js';
import { exited, PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { formatCoordinatorUrl } from '../src/coordination/etcd/etcd-url.js';
import { etcdAvailability, freePort, LocalEtcd } from '../src/coordination/etcd/local-etcd.js';
import { waitFor } from '../src/util/time.js';
import { CLI_MAIN, cli, cliFailure } from './support/cli.js';

/*
 * Brokers started one by one, as on three machines (`broker start`, here on
 * 127.0.0.1, .2 and .3), coordinated through a real etcd; the topic made
 * with `create-topic --coordinator`; produce, consume and describe unchanged
 * with --bootstrap. Every command is a separate process.
 */

const available = etcdAvailability();
if (!available.ok) console.log(`etcd CLI test skipped: ${available.reason}`);

let dir: string;
let etcd: LocalEtcd | null = null;
let coordinator = '';
let bootstrap = '';
const brokers: Array<{ child: ChildProcess; output: () => string }> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-cli-etcd-'));
  if (!available.ok) return;
  etcd = await LocalEtcd.start({ members: 1, dir: path.join(dir, 'etcd') });
  coordinator = formatCoordinatorUrl(etcd.clientAddresses);
  const listen: string[] = [];
  for (const id of [1, 2, 3]) {
    const host = `127.0.0.${id}`;
    const address = `${host}:${await freePort(host)}`;
    listen.push(address);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI_MAIN,
        'start',
        '--id',
        String(id),
        '--listen',
        address,
        '--dir',
        path.join(dir, `broker-${id}`),
        '--coordinator',
        coordinator,
        '--session-timeout-ms',
        '3000',
      ],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    brokers.push({ child, output: () => output });
  }
  bootstrap = listen.join(',');
  for (const [i, b] of brokers.entries())
    await waitFor(
      `broker ${i + 1} to register in etcd`,
      () => (b.output().includes('registered in etcd') ? true : undefined),
      60_000,
    );
}, 120_000);

afterAll(async () => {
  for (const b of brokers)
    if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
  await Promise.all(brokers.map((b) => exited(b.child)));
  await etcd?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available.ok)('broker start / create-topic through etcd', () => {
  test('create-topic waits for the elected controller to give every partition a leader', async () => {
    const { stdout } = await cli(
      'create-topic',
      '--coordinator',
      coordinator,
      '--topic',
      'multi',
      '--partitions',
      '2',
      '--replication-factor',
      '3',
      '--min-insync',
      '2',
    );
    expect(stdout).toContain(
      `topic multi: 2 partition(s), replication factor 3, min.insync.replicas 2 (in ${coordinator})`,
    );
    expect(stdout).toContain('multi-0: leader 1, replicas [1,2,3], ISR [1,2,3]');
    expect(stdout).toContain('multi-1: leader 2, replicas [2,3,1], ISR [2,3,1]');
    expect(brokers.some((b) => /broker \d is the controller: epoch 1/.test(b.output()))).toBe(true);
  }, 90_000);

  test('produce, consume and describe work unchanged with --bootstrap', async () => {
    const produced = await cli(
      'produce',
      '--bootstrap',
      bootstrap,
      '--topic',
      'multi',
      '--acks',
      'all',
      '--count',
      '20',
      '--json',
    );
    expect(produced.stdout.trim().split('\n')).toHaveLength(20);
    const consumed = await cli(
      'consume',
      '--bootstrap',
      bootstrap,
      '--topic',
      'multi',
      '--from-beginning',
      '--json',
    );
    expect(consumed.stdout.trim().split('\n')).toHaveLength(20);
    const described = await cli('describe', '--bootstrap', bootstrap, '--topic', 'multi', '--json');
    const views = JSON.parse(described.stdout) as Array<{ partition: number; leader: number; isr: number[] }>;
    expect(views.map((v) => v.partition)).toEqual([0, 1]);
    for (const v of views) expect(v.isr).toHaveLength(3);
  }, 90_000);

  test('a second create-topic of the same topic is refused and changes nothing; bad usage says what is wrong', async () => {
    const again = await cliFailure(
      'create-topic',
      '--coordinator',
      coordinator,
      '--topic',
      'multi',
      '--partitions',
      '5',
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[TOPIC_ALREADY_EXISTS]: topic multi already exists; nothing changed');
    const noCoordinator = await cliFailure('create-topic', '--topic', 'x');
    expect(noCoordinator.code).toBe(2);
    expect(noCoordinator.stderr).toContain('create-topic needs --bootstrap ADDR');
    expect(noCoordinator.stderr).toContain('--coordinator etcd://HOST:PORT');
    const badUrl = await cliFailure(
      'start',
      '--id',
      '9',
      '--dir',
      path.join(dir, 'b9'),
      '--coordinator',
      'http://x:1',
    );
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--coordinator must be etcd://HOST:PORT');
    expect(badUrl.stderr).toContain('usage: npx -y pnpm@10 broker start');
    const tooMany = await cliFailure(
      'create-topic',
      '--coordinator',
      coordinator,
      '--topic',
      'wide',
      '--replication-factor',
      '4',
      '--min-insync',
      '2',
    );
    expect(tooMany.stderr).toContain('[INVALID_REPLICATION_FACTOR]');
    expect(tooMany.stderr).toContain('replication factor 4: 3 broker(s) alive');
    const minAboveReplicas = await cliFailure(
      'create-topic',
      '--coordinator',
      coordinator,
      '--topic',
      'strict',
      '--replication-factor',
      '2',
      '--min-insync',
      '3',
    );
    expect(minAboveReplicas.stderr).toContain('[INVALID_CONFIG]');
  }, 90_000);

  test('no topic is created by reading: describe and consume of a topic etcd does not have fail, and it stays absent', async () => {
    for (const read of [
      ['describe', '--bootstrap', bootstrap, '--topic', 'nosuch'],
      ['consume', '--bootstrap', bootstrap, '--topic', 'nosuch'],
      ['produce', '--bootstrap', bootstrap, '--topic', 'nosuch', '--count', '1'],
    ]) {
      const failed = await cliFailure(...read);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('[UNKNOWN_TOPIC_OR_PARTITION]');
      expect(failed.stderr).toContain(`broker create-topic --bootstrap ${bootstrap} --topic nosuch`);
    }
    // Still unknown to every broker after those reads: nothing created it in etcd.
    for (const address of bootstrap.split(',')) {
      const described = await cliFailure('describe', '--bootstrap', address, '--topic', 'nosuch');
      expect(described.stderr).toContain('[UNKNOWN_TOPIC_OR_PARTITION]');
    }
  }, 90_000);

  test("create-topic --bootstrap works on an etcd cluster too (the broker writes it there), with the topic's own min.insync.replicas", async () => {
    const { stdout } = await cli(
      'create-topic',
      '--bootstrap',
      bootstrap,
      '--topic',
      'via-broker',
      '--replication-factor',
      '3',
      '--min-insync',
      '3',
    );
    expect(stdout).toMatch(/topic via-broker: 1 partition\(s\), replication factor 3, min.insync.replicas 3/);
    expect(stdout).toMatch(/via-broker-0: leader \d, replicas \[\d,\d,\d\], ISR \[\d,\d,\d\]/);
    const again = await cli(
      'create-topic',
      '--bootstrap',
      bootstrap,
      '--topic',
      'via-broker',
      '--if-not-exists',
    );
    expect(again.stdout).toMatch(/topic via-broker: 1 partition/);
    const produced = await cli(
      'produce',
      '--bootstrap',
      bootstrap,
      '--topic',
      'via-broker',
      '--acks',
      'all',
      '--count',
      '5',
      '--json',
    );
    expect(produced.stdout.trim().split('\n')).toHaveLength(5);
  }, 90_000);

  test('a second broker on a data directory in use refuses, naming the holder; the holder keeps serving', async () => {
    const holderDir = path.join(dir, 'broker-1');
    const intruder = await cliFailure(
      'start',
      '--id',
      '9',
      '--listen',
      `127.0.0.1:${await freePort('127.0.0.1')}`,
      '--dir',
      holderDir,
      '--coordinator',
      coordinator,
    );
    expect(intruder.code).toBe(1);
    expect(intruder.stderr).toContain(
      `refusing to start: ${holderDir} is in use by broker 1 (etcd ${coordinator}) (pid ${brokers[0]!.child.pid}`,
    );
    // Broker 1 still holds its lock and is still registered.
    const lock = JSON.parse(readFileSync(path.join(holderDir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(brokers[0]!.child.pid);
    expect(brokers[0]!.child.exitCode).toBeNull();
  }, 90_000);

  test('a broker stopped with SIGTERM hands its leaderships over at once (its lease is revoked)', async () => {
    const before = JSON.parse(
      (await cli('describe', '--bootstrap', bootstrap, '--topic', 'multi', '--json')).stdout,
    ) as Array<{
      partition: number;
      leader: number;
      leaderEpoch: number;
    }>;
    const leader = before.find((v) => v.partition === 0)!.leader;
    const stoppedAt = Date.now();
    brokers[leader - 1]!.child.kill('SIGTERM');
    await exited(brokers[leader - 1]!.child);
    const others = bootstrap
      .split(',')
      .filter((_, i) => i !== leader - 1)
      .join(',');
    const after = await waitFor(
      'a new leader of multi-0',
      async () => {
        const views = JSON.parse(
          (await cli('describe', '--bootstrap', others, '--topic', 'multi', '--json')).stdout,
        ) as Array<{
          partition: number;
          leader: number;
        }>;
        const v = views.find((x) => x.partition === 0)!;
        return v.leader >= 0 && v.leader !== leader ? v : undefined;
      },
      60_000,
      200,
    );
    expect(after.leader).not.toBe(leader);
    console.log(
      `[etcd cli] SIGTERM of leader ${leader}: new leader ${after.leader} after ${Date.now() - stoppedAt} ms`,
    );
  }, 90_000);
});
