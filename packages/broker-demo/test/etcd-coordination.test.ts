import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { PlannedChange } from '../src/coordination/etcd/controller-plan.js';
import { createEtcdClient } from '../src/coordination/etcd/etcd-client.js';
import { EtcdClusterMirror } from '../src/coordination/etcd/etcd-cluster-mirror.js';
import { type ControllerTerm, writeDecision } from '../src/coordination/etcd/etcd-controller.js';
import { CONTROLLER_ELECTION, EtcdKeyLayout } from '../src/coordination/etcd/etcd-records.js';
import { EtcdSession } from '../src/coordination/etcd/etcd-session.js';
import { etcdAvailability, LocalEtcd } from '../src/coordination/etcd/local-etcd.js';
import { waitFor } from '../src/util/time.js';
import { TcpProxy } from './support/tcp-proxy.js';

/*
 * The two fences, against a real etcd: a deposed controller's writes are
 * refused (its election key is gone), and a broker's session ends on its
 * own clock before etcd can expire its lease, so no one elects a new leader
 * while the old one still acknowledges.
 */

const available = etcdAvailability();
if (!available.ok) console.log(`etcd coordination tests skipped: ${available.reason}`);

let dir: string;
let etcd: LocalEtcd | null = null;
const cleanup: Array<() => Promise<void> | void> = [];
const keys = new EtcdKeyLayout('/fence-test');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-coordination-'));
  if (available.ok) etcd = await LocalEtcd.start({ members: 1, dir });
}, 90_000);
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(async () => {
  await etcd?.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(address = etcd!.clientAddresses[0]!): Etcd3 {
  const c = createEtcdClient([`http://${address}`]);
  cleanup.push(() => c.close());
  return c;
}

async function elect(
  c: Etcd3,
  brokerId: number,
  epoch: number,
): Promise<{ term: ControllerTerm; resign: () => Promise<void> }> {
  const campaign = c
    .namespace(keys.electionNamespace)
    .election(CONTROLLER_ELECTION, 2)
    .campaign(String(brokerId));
  campaign.on('error', () => undefined);
  await new Promise<void>((resolve) => campaign.once('elected', () => resolve()));
  const electionKey = await campaign.getCampaignKey();
  const own = await c.get(electionKey).exec();
  return {
    term: { electionKey, electionRevision: Number(own.kvs[0]!.create_revision), epoch },
    resign: () => campaign.resign(),
  };
}

describe.skipIf(!available.ok)('etcd fences', () => {
  test("a deposed controller's write is refused: it compares its election key's create revision", async () => {
    const c = client();
    const first = await elect(c, 1, 1);
    const decision = (next: number, expectedModRevision: number): PlannedChange => ({
      topic: 't',
      partition: 0,
      expectedModRevision,
      next: {
        leader: next,
        leaderEpoch: next,
        partitionEpoch: next,
        isr: [next],
        controllerEpoch: 1,
        leaderBrokerEpoch: 0,
      },
      reason: 'test',
    });
    const created = await writeDecision(c, keys, first.term, decision(1, 0));
    expect(created.succeeded).toBe(true);
    const stateKey = keys.partitionState('t', 0);
    const mod = Number((await c.get(stateKey).exec()).kvs[0]!.mod_revision);

    const secondCampaign = elect(c, 2, 2);
    await first.resign();
    const second = await secondCampaign;
    const stale = await writeDecision(c, keys, first.term, decision(7, mod));
    expect(stale.succeeded).toBe(false);
    expect(JSON.parse((await c.get(stateKey).string())!)).toMatchObject({ leader: 1 });
    const current = await writeDecision(c, keys, second.term, decision(2, mod));
    expect(current.succeeded).toBe(true);
    // And a decision made from an older version of the state is refused even from the controller in office.
    expect((await writeDecision(c, keys, second.term, decision(3, mod))).succeeded).toBe(false);
    await second.resign();
  }, 60_000);

  test('a broker cut off from etcd stops being valid before etcd expires its lease, and registers again under a new broker epoch once back', async () => {
    const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port: etcd!.members[0]!.clientPort } });
    cleanup.push(() => proxy.close());
    const brokerClient = client(proxy.address);
    const mirror = new EtcdClusterMirror(brokerClient, keys, () => undefined);
    cleanup.push(() => mirror.stop());
    await mirror.start();
    const lines: string[] = [];
    const session = new EtcdSession({
      client: brokerClient,
      mirror,
      // etcd grants at least 1.5 election timeouts (here 2.25 s, rounded up to 3 s).
      ttlSeconds: 3,
      registrationKey: keys.brokerRegistration(7),
      registration: { id: 7, host: '127.0.0.7', port: 9007, incarnation: 'test' },
      say: (line) => lines.push(line),
    });
    cleanup.push(() => session.stop());
    session.start();
    await waitFor('a valid session', () => (session.valid() ? true : undefined), 30_000, 10);
    const firstEpoch = session.brokerEpoch;

    // The test's own watch, direct to etcd, sees when etcd expires the registration.
    const observer = new EtcdClusterMirror(client(), keys, () => undefined);
    cleanup.push(() => observer.stop());
    await observer.start();
    expect(observer.state.brokers.has(7)).toBe(true);
    let deletedAt = 0;
    observer.onChange(() => {
      if (deletedAt === 0 && !observer.state.brokers.has(7)) deletedAt = Date.now();
    });

    proxy.blackhole('both');
    const cutAt = Date.now();
    await waitFor('the session to end', () => (session.valid() ? undefined : true), 30_000, 5);
    const fencedAt = Date.now();
    await waitFor('etcd to expire the registration', () => (deletedAt > 0 ? true : undefined), 30_000, 10);
    expect(fencedAt).toBeLessThan(deletedAt);
    // At most one TTL after the cut (the last keepalive was sent before it).
    expect(fencedAt - cutAt).toBeLessThanOrEqual(3000);
    expect(lines.some((l) => l.includes('FENCED'))).toBe(true);

    proxy.heal();
    await waitFor('a valid session again', () => (session.valid() ? true : undefined), 30_000, 10);
    expect(session.brokerEpoch).not.toBe(firstEpoch);
    expect(observer.state.brokers.get(7)?.brokerEpoch).toBe(session.brokerEpoch);
    expect(lines.some((l) => l.includes('declared dead'))).toBe(true);
  }, 90_000);
});
