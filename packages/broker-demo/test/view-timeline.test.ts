import { describe, expect, test } from 'vitest';
import { checkControlRequest, checkHost } from '../src/view/request-guard.js';
import { TimelineDetector } from '../src/view/timeline.js';
import type { BrokerView, ClusterViewSnapshot, PartitionPanel, ReplicaBar } from '../src/view/view-model.js';

/*
 * The view's pure parts: the controller events read off successive snapshots,
 * and the checks every control request passes before anything happens.
 */

function broker(id: number, fields: Partial<BrokerView> = {}): BrokerView {
  return {
    id,
    address: `127.0.0.1:${9000 + id}`,
    pid: 100 + id,
    process: 'running',
    registered: true,
    answering: true,
    fenced: false,
    controller: false,
    ...fields,
  };
}

function replica(brokerId: number, leo: number, fields: Partial<ReplicaBar> = {}): ReplicaBar {
  return {
    brokerId,
    leo,
    hw: leo,
    role: 'follower',
    stale: false,
    inIsr: true,
    lagRecords: 0,
    lastCaughtUpMsAgo: 0,
    ...fields,
  };
}

function partition(fields: Partial<PartitionPanel> & { leos?: [number, number, number] }): PartitionPanel {
  const { leos = [10, 10, 10], ...rest } = fields;
  return {
    topic: 't',
    partition: 0,
    leader: 1,
    leaderEpoch: 0,
    isr: [1, 2, 3],
    highWatermark: 10,
    replicas: leos.map((leo, i) => replica(i + 1, leo)),
    produceRate: 0,
    consumeRate: 0,
    acksAllWaiting: 0,
    ...rest,
  };
}

function snapshot(
  atMs: number,
  partitions: PartitionPanel[],
  brokers = [broker(1), broker(2), broker(3)],
  coordination: ClusterViewSnapshot['coordination'] = { kind: 'controller' },
): ClusterViewSnapshot {
  return {
    seq: atMs,
    atMs,
    label: 'test',
    replicaLagTimeMaxMs: 1500,
    minInsync: 2,
    unclean: false,
    controller: null,
    coordination,
    brokers,
    partitions,
    producer: { running: false, acks: 'all', topic: 't', acknowledged: 0, failed: 0, lastError: null },
  };
}

describe('TimelineDetector', () => {
  test('events carry the time they happened, as the controller, the cluster or the replica recorded it, in that order', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1000, [partition({})]));
    // Seen together at 5000; they happened at 1500 (SIGSTOP), 2000 (ISR shrink), 3000 (truncation), 4000 (declared dead).
    const events = d.observe(
      snapshot(
        5000,
        [
          partition({
            isr: [1, 2],
            changedAtMs: 2000,
            replicas: [
              replica(1, 10),
              replica(2, 7, { lastTruncation: { fromOffset: 10, toOffset: 7, atMs: 3000 } }),
              replica(3, 10, { inIsr: false }),
            ],
          }),
        ],
        [
          broker(1),
          broker(2),
          broker(3, { process: 'stopped', processSinceMs: 1500, registered: false, registeredSinceMs: 4000 }),
        ],
      ),
    );
    expect(events.map((e) => [e.atMs, e.kind])).toEqual([
      [1500, 'process'],
      [2000, 'isr-shrink'],
      [3000, 'truncation'],
      [4000, 'broker-death'],
    ]);
  });

  test('without a recorded time, an event is dated when it was seen', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1000, [partition({})]));
    const events = d.observe(snapshot(5000, [partition({ isr: [1, 2] })]));
    expect(events).toMatchObject([{ atMs: 5000, kind: 'isr-shrink' }]);
  });

  test('the first snapshot is the starting point, not an event', () => {
    expect(new TimelineDetector().observe(snapshot(1, [partition({})]))).toEqual([]);
  });

  test('a follower leaving the ISR and coming back is a shrink then an expand', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, [partition({})]));
    const shrink = d.observe(snapshot(2, [partition({ isr: [1, 2] })]));
    expect(shrink.map((e) => e.kind)).toEqual(['isr-shrink']);
    expect(shrink[0]!.text).toContain('3 left');
    const expand = d.observe(snapshot(3, [partition({ isr: [1, 2, 3] })]));
    expect(expand.map((e) => e.kind)).toEqual(['isr-expand']);
  });

  test('a new leader from the ISR is a clean election with an epoch bump', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, [partition({})]));
    const events = d.observe(snapshot(2, [partition({ leader: 2, leaderEpoch: 1, isr: [2, 3] })]));
    expect(events.map((e) => e.kind)).toEqual(['election', 'epoch-bump', 'isr-shrink']);
    expect(events[0]).toMatchObject({ clean: true, brokerId: 2 });
  });

  test('a new leader from outside the ISR is an unclean election', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, [partition({ isr: [1] })]));
    const events = d.observe(snapshot(2, [partition({ leader: 3, leaderEpoch: 1, isr: [3] })]));
    expect(events[0]).toMatchObject({ kind: 'election', clean: false, brokerId: 3 });
    expect(events[0]!.text).toContain('UNCLEAN');
  });

  test('no leader left is an offline partition', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, [partition({ isr: [1] })]));
    const events = d.observe(snapshot(2, [partition({ leader: -1, leaderEpoch: 1, isr: [1] })]));
    expect(events.map((e) => e.kind)).toEqual(['leader-offline', 'epoch-bump']);
  });

  test('a LEO that goes down is a truncation, even across snapshots in which the replica was silent', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, [partition({ leos: [70, 20, 20] })]));
    const silent = partition({ leos: [70, 20, 20] });
    silent.replicas[0] = replica(1, 70, { stale: true });
    expect(d.observe(snapshot(2, [silent]))).toEqual([]);
    const events = d.observe(snapshot(3, [partition({ leos: [20, 20, 20] })]));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'truncation', brokerId: 1 });
    expect(events[0]!.text).toContain('from LEO 70 to 20');
  });

  test('brokers dying, returning, stopping and continuing are told apart', () => {
    const d = new TimelineDetector();
    d.observe(snapshot(1, []));
    const stopped = d.observe(snapshot(2, [], [broker(1), broker(2, { process: 'stopped' }), broker(3)]));
    expect(stopped).toMatchObject([{ kind: 'process', brokerId: 2 }]);
    expect(stopped[0]!.text).toContain('SIGSTOP');
    const dead = d.observe(
      snapshot(3, [], [broker(1), broker(2, { process: 'stopped', registered: false }), broker(3)]),
    );
    expect(dead.map((e) => e.kind)).toEqual(['broker-death']);
    const back = d.observe(snapshot(4, [], [broker(1), broker(2), broker(3)]));
    expect(back.map((e) => e.kind)).toEqual(['broker-return', 'process']);
    expect(back[1]!.text).toContain('SIGCONT');
    const restarted = d.observe(snapshot(5, [], [broker(1), broker(2), broker(3, { pid: 999 })]));
    expect(restarted).toMatchObject([{ kind: 'process', brokerId: 3 }]);
    expect(restarted[0]!.text).toContain('restarted (pid 999)');
  });

  test('etcd-coordinated: a new controller epoch and a broker fenced, then valid again, are events', () => {
    const etcd = (controllerBrokerId: number, controllerEpoch: number) =>
      ({ kind: 'etcd', url: 'etcd://127.0.0.1:2379', controllerBrokerId, controllerEpoch }) as const;
    const d = new TimelineDetector();
    d.observe(snapshot(1, [], undefined, etcd(1, 1)));
    const fenced = d.observe(
      snapshot(2, [], [broker(1, { fenced: true }), broker(2), broker(3)], etcd(1, 1)),
    );
    expect(fenced).toMatchObject([{ kind: 'fenced', brokerId: 1 }]);
    expect(fenced[0]!.text).toContain('FENCED');
    const moved = d.observe(snapshot(3, [], [broker(1, { fenced: true }), broker(2), broker(3)], etcd(2, 2)));
    expect(moved).toMatchObject([{ kind: 'controller', brokerId: 2 }]);
    expect(moved[0]!.text).toContain('controller epoch 1 -> 2');
    expect(d.observe(snapshot(4, [], undefined, etcd(2, 2)))).toMatchObject([
      { kind: 'fenced', brokerId: 1 },
    ]);
  });
});

describe('control request checks', () => {
  const expected = { host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000', token: 'secret-token' };
  const good = {
    host: '127.0.0.1:4000',
    origin: 'http://127.0.0.1:4000',
    'sec-fetch-site': 'same-origin',
    'x-view-token': 'secret-token',
    'content-type': 'application/json',
  };

  test('the page itself passes', () => {
    expect(checkControlRequest(good, expected)).toEqual({ ok: true });
    const { 'sec-fetch-site': _, ...withoutFetchMetadata } = good;
    expect(checkControlRequest(withoutFetchMetadata, expected)).toEqual({ ok: true });
  });

  test.each([
    ['another Host (DNS rebinding)', { host: 'evil.example:4000' }, 421],
    ['another origin', { origin: 'http://127.0.0.1:4001' }, 403],
    ['no origin', { origin: undefined }, 403],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }, 403],
    ['no token', { 'x-view-token': undefined }, 403],
    ['a wrong token', { 'x-view-token': 'secret-tokeN' }, 403],
    ['a token of another length', { 'x-view-token': 'secret' }, 403],
    ['a form post', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
  ])('%s is refused', (_name, change, status) => {
    const verdict = checkControlRequest({ ...good, ...change }, expected);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.status).toBe(status);
  });

  test('Host is checked on every request', () => {
    expect(checkHost({ host: '127.0.0.1:4000' }, expected).ok).toBe(true);
    expect(checkHost({ host: 'localhost.evil:4000' }, expected).ok).toBe(false);
    expect(checkHost({}, expected).ok).toBe(false);
  });
});
