import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exited, PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { formatCoordinatorUrl } from '../src/coordination/etcd/etcd-url.js';
import { etcdAvailability, freePort, LocalEtcd } from '../src/coordination/etcd/local-etcd.js';
import { waitFor } from '../src/util/time.js';

/*
 * Brokers started one by one, as on three machines (`broker start`, here on
 * 127.0.0.1, .2 and .3), coordinated through a real etcd; the topic made
 * with `create-topic --coordinator`; produce, consume and describe unchanged
 * with --bootstrap. Every command is a separate process.
 */

const available = etcdAvailability();
if (!available.ok) console.log(`etcd CLI test skipped: ${available.reason}`);

const run = promisify(execFile);
const MAIN = path.join(PACKAGE_DIR, 'src/cli/main.ts');
let dir: string;
let etcd: LocalEtcd | null = null;
let coordinator = '';
let bootstrap = '';
const brokers: Array<{ child: ChildProcess; output: () => string }> = [];

function cli(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: PACKAGE_DIR, timeout: 60_000 });
}

async function cliFails(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await cli(...args);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`broker ${args.join(' ')} succeeded`);
}

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
        MAIN,
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
    expect(stdout).toContain(`created multi in ${coordinator}`);
    expect(stdout).toMatch(/multi-0: replicas \[1,2,3\], leader 1 \(epoch 0\), ISR \[1,2,3\]/);
    expect(stdout).toMatch(/multi-1: replicas \[2,3,1\], leader 2 \(epoch 0\), ISR \[2,3,1\]/);
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
    const again = await cliFails(
      'create-topic',
      '--coordinator',
      coordinator,
      '--topic',
      'multi',
      '--partitions',
      '5',
    );
    expect(again.stderr).toContain('topic multi already exists; nothing changed');
    const noCoordinator = await cliFails('create-topic', '--topic', 'x');
    expect(noCoordinator.stderr).toContain('create-topic needs --coordinator etcd://');
    const badUrl = await cliFails(
      'start',
      '--id',
      '9',
      '--dir',
      path.join(dir, 'b9'),
      '--coordinator',
      'http://x:1',
    );
    expect(badUrl.stderr).toContain('--coordinator must be etcd://HOST:PORT');
    const tooMany = await cliFails(
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
    expect(tooMany.stderr).toContain('replication factor 4: 3 broker(s) alive');
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
