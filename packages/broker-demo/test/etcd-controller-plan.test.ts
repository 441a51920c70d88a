import { describe, expect, test } from 'vitest';
import { ControllerState } from '../src/controller/controller-state.js';
import { planControllerChanges } from '../src/coordination/etcd/controller-plan.js';
import { EtcdClusterState } from '../src/coordination/etcd/etcd-cluster-state.js';
import { EtcdKeyLayout, type PartitionStateRecord } from '../src/coordination/etcd/etcd-records.js';

/*
 * The etcd controller's decisions, from the cluster state alone (pure: no
 * etcd): first leaders, elections when a leader's session ends or it
 * restarts, dead followers leaving the ISR, resignations; and the copy of
 * etcd's keys they are made from.
 */

const keys = new EtcdKeyLayout('/t');
/** The controller's clock when it decides: every change it writes is dated by it. */
const NOW = 1_700_000_000_000;
let revision = 0;

function put(
  state: EtcdClusterState,
  key: string,
  value: unknown,
  createRevision?: number,
  lease = '0',
): void {
  revision++;
  state.put({
    key,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    createRevision: createRevision ?? revision,
    modRevision: revision,
    lease,
  });
}

function register(state: EtcdClusterState, id: number): void {
  put(state, keys.brokerRegistration(id), { id, host: '127.0.0.1', port: 9000 + id, incarnation: `i${id}` });
}

function partitionState(fields: Partial<PartitionStateRecord> = {}): PartitionStateRecord {
  return {
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
    isr: [1, 2, 3],
    controllerEpoch: 1,
    leaderBrokerEpoch: 0,
    ...fields,
  };
}

/** Brokers 1-3 registered, topic t with one partition on [1,2,3], and its state as given. */
function cluster(state?: Partial<PartitionStateRecord>) {
  const s = new EtcdClusterState(keys);
  for (const id of [1, 2, 3]) register(s, id);
  put(s, keys.topic('t'), { replicaAssignment: [[1, 2, 3]], minInsyncReplicas: 2 });
  if (state !== undefined) {
    const leaderEpoch = s.brokers.get(state.leader ?? 1)?.brokerEpoch ?? 0;
    put(s, keys.partitionState('t', 0), partitionState({ leaderBrokerEpoch: leaderEpoch, ...state }));
  }
  return s;
}

describe('planControllerChanges', () => {
  test("a new topic's partition gets its first live replica as leader and the live replicas as ISR, created only if absent", () => {
    const s = cluster();
    s.delete(keys.brokerRegistration(1), ++revision);
    const [change, ...rest] = planControllerChanges(s, 4, NOW);
    expect(rest).toEqual([]);
    expect(change).toMatchObject({
      topic: 't',
      partition: 0,
      expectedModRevision: 0,
      next: { leader: 2, leaderEpoch: 0, isr: [2, 3], controllerEpoch: 4, changedAtMs: NOW },
      leaderRegistration: { brokerId: 2, brokerEpoch: s.brokers.get(2)!.brokerEpoch },
    });
  });

  test('a settled cluster needs nothing', () => {
    expect(planControllerChanges(cluster({}), 1, NOW)).toEqual([]);
  });

  test("a leader whose session ended is replaced by the next ISR member, fenced by the state's mod revision", () => {
    const s = cluster({});
    const modRevision = s.partitionStates.get('t-0')!.modRevision;
    s.delete(keys.brokerRegistration(1), ++revision);
    const [change] = planControllerChanges(s, 2, NOW);
    expect(change).toMatchObject({
      expectedModRevision: modRevision,
      next: { leader: 2, leaderEpoch: 1, partitionEpoch: 1, isr: [2, 3], controllerEpoch: 2 },
    });
    expect(change!.reason).toContain("leader 1's session ended");
  });

  test('a leader registered again under a new broker epoch (restarted) loses its leadership', () => {
    const s = cluster({});
    s.delete(keys.brokerRegistration(1), ++revision);
    register(s, 1);
    const [change] = planControllerChanges(s, 1, NOW);
    expect(change?.next).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
    expect(change?.reason).toContain('registered again');
  });

  test('with no live ISR member the partition goes offline, keeping its ISR; a returning member leads it', () => {
    const s = cluster({ isr: [1] });
    s.delete(keys.brokerRegistration(1), ++revision);
    const [offline] = planControllerChanges(s, 1, NOW);
    expect(offline?.next).toMatchObject({ leader: -1, leaderEpoch: 1, isr: [1] });
    put(s, keys.partitionState('t', 0), offline!.next);
    register(s, 1);
    const [back] = planControllerChanges(s, 1, NOW);
    expect(back?.next).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [1] });
    expect(back?.leaderRegistration?.brokerEpoch).toBe(s.brokers.get(1)!.brokerEpoch);
  });

  test('unclean election, when the cluster allows it, elects a live replica outside the ISR', () => {
    const s = cluster({ isr: [1] });
    put(s, keys.config, {
      minInsyncReplicas: 1,
      uncleanLeaderElection: true,
      defaultPartitions: 1,
      defaultReplicationFactor: 3,
    });
    s.delete(keys.brokerRegistration(1), ++revision);
    const [change] = planControllerChanges(s, 1, NOW);
    expect(change?.next).toMatchObject({ leader: 2, isr: [2] });
    expect(change?.reason).toContain('UNCLEAN');
  });

  test('dead followers leave the ISR in one change; the leader epoch stays', () => {
    const s = cluster({});
    s.delete(keys.brokerRegistration(2), ++revision);
    s.delete(keys.brokerRegistration(3), ++revision);
    const [change] = planControllerChanges(s, 1, NOW);
    expect(change?.next).toMatchObject({ leader: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1] });
    expect(change?.leaderRegistration).toBeUndefined();
  });

  test("a current leader's resignation hands over to the next ISR member and deletes the request in the same write", () => {
    const s = cluster({});
    put(s, keys.resignation('t', 0), { brokerId: 1, leaderEpoch: 0, reason: 'corrupt batch' });
    const [change] = planControllerChanges(s, 1, NOW);
    expect(change?.next).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
    expect(change?.resignation?.key).toBe(keys.resignation('t', 0));
  });

  test('a stale resignation (another epoch) is refused: the request is deleted, the state kept', () => {
    const s = cluster({ leaderEpoch: 3 });
    put(s, keys.resignation('t', 0), { brokerId: 1, leaderEpoch: 2, reason: 'corrupt batch' });
    const [change] = planControllerChanges(s, 1, NOW);
    expect(change?.next).toBeNull();
    expect(change?.resignation).toBeDefined();
    expect(change?.reason).toContain('refused');
  });
});

describe('one set of rules for both controllers', () => {
  test('the etcd controller and the built-in one decide a leader death alike', () => {
    // The same cluster twice: brokers 1-3 and topic t on [1,2,3], led by 1; then broker 1 dies.
    const s = cluster({});
    const builtIn = new ControllerState(s.clusterConfig(), { host: '127.0.0.1', port: 1 });
    for (const id of [1, 2, 3]) builtIn.heartbeat(id, `i${id}`, '127.0.0.1', 9000 + id, 0);
    builtIn.createTopic({ topic: 't', partitions: 1, replicationFactor: 3 }, 0);
    const diedAt = 3100;
    for (const id of [2, 3]) builtIn.heartbeat(id, `i${id}`, '127.0.0.1', 9000 + id, 2500);
    builtIn.expireSessions(diedAt, 3000);
    s.delete(keys.brokerRegistration(1), ++revision);
    const [change] = planControllerChanges(s, 1, diedAt);

    const decided = builtIn.partition('t', 0)!;
    expect(decided).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
    expect(change?.next).toMatchObject({
      leader: decided.leader,
      leaderEpoch: decided.leaderEpoch,
      partitionEpoch: decided.partitionEpoch,
      isr: decided.isr,
      changedAtMs: decided.changedAtMs,
    });
  });
});

describe('EtcdClusterState', () => {
  test('the controller is the candidate created first, and its epoch counts only while it holds that key', () => {
    const s = new EtcdClusterState(keys);
    put(s, `${keys.electionPrefix}a`, '2', 10);
    put(s, `${keys.electionPrefix}b`, '1', 12);
    expect(s.controller).toMatchObject({ brokerId: 2, createRevision: 10 });
    put(s, keys.controllerEpoch, {
      epoch: 5,
      brokerId: 2,
      electionKey: `${keys.electionPrefix}a`,
      electionRevision: 10,
    });
    expect(s.activeControllerEpoch?.epoch).toBe(5);
    s.delete(`${keys.electionPrefix}a`, ++revision);
    expect(s.controller?.brokerId).toBe(1);
    expect(s.activeControllerEpoch).toBeNull();
  });

  test('a malformed key is reported and skipped; the rest of the state stands', () => {
    const invalid: string[] = [];
    const s = new EtcdClusterState(keys, (key) => invalid.push(key));
    register(s, 1);
    put(s, keys.brokerRegistration(2), '{"id": 2, "host": 7}');
    put(s, keys.topic('t'), 'not json');
    expect(invalid).toEqual([keys.brokerRegistration(2), keys.topic('t')]);
    expect([...s.brokers.keys()]).toEqual([1]);
    expect(s.topics.size).toBe(0);
  });

  test("the snapshot brokers follow: version = etcd's revision, departed brokers listed as not alive, the topic's min.insync", () => {
    const s = cluster({});
    s.delete(keys.brokerRegistration(3), ++revision);
    const snapshot = s.snapshot({ host: 'self', port: 1 });
    expect(snapshot.version).toBe(revision);
    expect(snapshot.brokers.map((b) => [b.id, b.alive])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(snapshot.partitions[0]).toMatchObject({
      topic: 't',
      leader: 1,
      replicas: [1, 2, 3],
      minInsyncReplicas: 2,
    });
  });

  test("keys that are not the cluster's are ignored", () => {
    const s = new EtcdClusterState(keys);
    put(s, '/other/brokers/ids/1', { id: 1 });
    put(s, `${keys.prefix}brokers/ids/x`, { id: 1 });
    expect(s.brokers.size).toBe(0);
  });
});
