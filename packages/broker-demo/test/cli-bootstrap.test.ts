import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTopic } from '../src/client/admin.js';
import { ClusterClient } from '../src/client/cluster-client.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { waitFor } from '../src/util/time.js';
import { cli, cliFailure } from './support/cli.js';

/*
 * `--bootstrap a,b,c`: the CLI's clients fetch metadata from whichever
 * bootstrap address is reachable, against a real cluster of processes.
 */

let dir: string;
let cluster: LocalCluster;

/** A loopback port nobody listens on: connects to it are refused. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function brokerAddress(id: number): string {
  const info = cluster.brokerInfo(id);
  if (info === undefined) throw new Error(`no broker ${id}`);
  return info.address;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-bootstrap-test-'));
  cluster = await LocalCluster.start({ brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2, dir });
}, 40_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('with a dead first bootstrap address, produce, consume and describe still work', async () => {
  const dead = [await deadAddress(), await deadAddress()];
  const bootstrap = [...dead, brokerAddress(2)].join(',');
  const produced = await cli(
    'produce',
    '--bootstrap',
    bootstrap,
    '--topic',
    'bs',
    '--acks',
    'all',
    '--count',
    '3',
    '--create-topic',
    '--json',
  );
  expect(produced.stdout.trim().split('\n')).toHaveLength(3);
  expect(produced.stderr).toMatch(/"acknowledged":3/);

  const consumed = await cli(
    'consume',
    '--bootstrap',
    bootstrap,
    '--topic',
    'bs',
    '--from-beginning',
    '--json',
  );
  expect(consumed.stdout.trim().split('\n')).toHaveLength(3);

  const described = await cli('describe', '--bootstrap', `${dead[0]}, ${brokerAddress(3)},`, '--topic', 'bs');
  expect(described.stdout).toMatch(/bs-0: leader \d, epoch \d+, ISR \[/);
}, 60_000);

test('with every bootstrap address dead, the command fails naming each one', async () => {
  const dead = [await deadAddress(), await deadAddress()];
  const { code, stderr } = await cliFailure('describe', '--bootstrap', dead.join(','), '--topic', 'bs');
  expect(code).toBe(1);
  expect(stderr).toMatch(/\[REMOTING_NAME_SERVER_UNAVAILABLE\]/);
  for (const address of dead) expect(stderr).toContain(address);
}, 30_000);

test('a malformed bootstrap entry is refused by name', async () => {
  const { code, stderr } = await cliFailure(
    'describe',
    '--bootstrap',
    `${brokerAddress(1)},broker-two`,
    '--topic',
    'bs',
  );
  // A bad option value is a usage error: exit 2, the command's usage on stderr.
  expect(code).toBe(2);
  expect(stderr).toMatch(/broker describe: --bootstrap entry "broker-two" is not host:port/);
  expect(stderr).toMatch(/usage: npx -y pnpm@10 broker describe/);
}, 30_000);

test('after a bootstrap broker is killed, the list with it first still serves metadata', async () => {
  await cli('create-topic', '--bootstrap', brokerAddress(1), '--topic', 'killed');
  await cluster.signalBroker(1, 'SIGKILL');
  await waitFor('broker 1 to exit', () => (cluster.isRunning(1) ? undefined : true), 10_000);
  const described = await cli(
    'describe',
    '--bootstrap',
    `${brokerAddress(1)},${brokerAddress(2)},${brokerAddress(3)}`,
    '--topic',
    'killed',
  );
  expect(described.stdout).toMatch(/killed-0: leader \d/);
}, 60_000);

test('a long-lived client stays on its bootstrap broker, and moves to another when that one dies', async () => {
  const client = new ClusterClient([brokerAddress(2), brokerAddress(3)]);
  try {
    await createTopic(client, { topic: 'moving' });
    await client.refresh('moving');
    const chosen = client.bootstrapStats().chosen;
    expect([brokerAddress(2), brokerAddress(3)]).toContain(chosen);
    await client.refresh('moving');
    expect(client.bootstrapStats().chosen).toBe(chosen);

    const victim = chosen === brokerAddress(2) ? 2 : 3;
    await cluster.signalBroker(victim, 'SIGKILL');
    await waitFor(`broker ${victim} to exit`, () => (cluster.isRunning(victim) ? undefined : true), 10_000);
    await waitFor(
      'the client to see the connection close',
      () => (client.bootstrapStats().chosen === null ? true : undefined),
      5_000,
    );
    const snapshot = await client.refresh('moving');
    expect(snapshot.partitions.some((p) => p.topic === 'moving')).toBe(true);
    expect(client.bootstrapStats().chosen).toBe(brokerAddress(victim === 2 ? 3 : 2));
  } finally {
    await client.close();
  }
}, 60_000);
