import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTopic } from '../src/client/admin.js';
import { ClusterClient } from '../src/client/cluster-client.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { formatCoordinatorUrl } from '../src/coordination/etcd/etcd-url.js';
import { etcdAvailability, LocalEtcd } from '../src/coordination/etcd/local-etcd.js';
import { waitFor } from '../src/util/time.js';
import type { ClusterViewSnapshot, TimelineEvent } from '../src/view/view-model.js';
import { ViewServer } from '../src/view/view-server.js';

/*
 * The live view of an etcd-coordinated cluster, read over its own
 * Server-Sent Events stream (the page's source): state from etcd, the
 * elected controller and its epoch, and a broker marked FENCED while its
 * session is not valid.
 */

const available = etcdAvailability();
if (!available.ok) console.log(`etcd view test skipped: ${available.reason}`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-view-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Reads the view's event stream, keeping the latest snapshot and every timeline event. */
function follow(url: string) {
  const latest: { snapshot: ClusterViewSnapshot | null } = { snapshot: null };
  const events: TimelineEvent[] = [];
  const abort = new AbortController();
  const reading = (async () => {
    const response = await fetch(`${url}events`, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const kind = /^event: (\w+)/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data === undefined) continue;
        if (kind === 'snapshot') latest.snapshot = JSON.parse(data) as ClusterViewSnapshot;
        if (kind === 'timeline') events.push(...(JSON.parse(data) as TimelineEvent[]));
      }
    }
  })().catch(() => undefined);
  return { latest, events, close: () => abort.abort(), reading };
}

describe.skipIf(!available.ok)('the live view of an etcd-coordinated cluster', () => {
  test('shows the elected controller and its epoch from etcd, marks a stopped controller broker FENCED, and the next controller epoch', async () => {
    const etcd = await LocalEtcd.start({ members: 1, dir: path.join(dir, 'etcd') });
    const cluster = await LocalCluster.start({
      brokers: 3,
      partitions: 1,
      replicationFactor: 3,
      minInsync: 2,
      dir: path.join(dir, 'cluster'),
      coordinator: formatCoordinatorUrl(etcd.clientAddresses),
      sessionTimeoutMs: 3000,
    });
    const view = new ViewServer();
    const client = new ClusterClient(cluster.controllerAddress);
    let stream: ReturnType<typeof follow> | null = null;
    try {
      // Created through a broker, which writes it to etcd (no topic is made by reading).
      await createTopic(client, { topic: 'view-etcd' });
      const url = await view.start();
      await view.attach(cluster, 'etcd cluster');
      stream = follow(url);
      const s = stream;
      const first = await waitFor(
        'a snapshot with a controller and the topic',
        () => {
          const snap = s.latest.snapshot;
          return snap?.coordination.kind === 'etcd' &&
            snap.coordination.controllerEpoch !== null &&
            snap.partitions.some((p) => p.topic === 'view-etcd' && p.leader >= 0)
            ? snap
            : undefined;
        },
        60_000,
      );
      if (first.coordination.kind !== 'etcd') throw new Error('not etcd');
      expect(first.coordination.url).toBe(cluster.options.coordinator);
      const controllerId = first.coordination.controllerBrokerId!;
      const epoch = first.coordination.controllerEpoch!;
      expect(first.brokers.find((b) => b.id === controllerId)?.controller).toBe(true);
      expect(first.brokers.every((b) => b.registered && !b.fenced)).toBe(true);

      await cluster.signalBroker(controllerId, 'SIGSTOP');
      const moved = await waitFor(
        'the stopped controller FENCED and a new controller epoch',
        () => {
          const snap = s.latest.snapshot;
          if (snap?.coordination.kind !== 'etcd') return undefined;
          const stopped = snap.brokers.find((b) => b.id === controllerId);
          return stopped?.fenced === true &&
            snap.coordination.controllerEpoch !== null &&
            snap.coordination.controllerEpoch > epoch
            ? snap
            : undefined;
        },
        60_000,
      );
      if (moved.coordination.kind !== 'etcd') throw new Error('not etcd');
      expect(moved.coordination.controllerBrokerId).not.toBe(controllerId);
      await waitFor(
        'fenced and controller events in the timeline',
        () =>
          s.events.some((e) => e.kind === 'fenced' && e.brokerId === controllerId) &&
          s.events.some((e) => e.kind === 'controller')
            ? true
            : undefined,
        30_000,
      );

      await cluster.signalBroker(controllerId, 'SIGCONT');
      await waitFor(
        'the continued broker registered again and no longer fenced',
        () => {
          const b = s.latest.snapshot?.brokers.find((x) => x.id === controllerId);
          return b?.registered === true && b.fenced === false ? true : undefined;
        },
        60_000,
      );
    } finally {
      stream?.close();
      await client.close();
      await view.close();
      await cluster.stop();
      await etcd.close();
    }
  }, 180_000);
});
