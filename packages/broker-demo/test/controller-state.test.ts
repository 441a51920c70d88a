import { describe, expect, test } from 'vitest';
import { ControllerState } from '../src/controller/controller-state.js';
import { BrokerError } from '../src/protocol/errors.js';

function cluster(unclean = false) {
  const state = new ControllerState(
    {
      minInsyncReplicas: 2,
      uncleanLeaderElection: unclean,
      defaultPartitions: 1,
      defaultReplicationFactor: 3,
    },
    { host: '127.0.0.1', port: 1 },
  );
  for (const id of [1, 2, 3]) state.heartbeat(id, `inc-${id}`, '127.0.0.1', 1000 + id, 0);
  state.createTopic({ topic: 't', partitions: 1, replicationFactor: 3 }, 0);
  return state;
}

describe('leader election', () => {
  test('a new topic is led by its first replica with every replica in the ISR', () => {
    const p = cluster().partition('t', 0)!;
    expect(p).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 2, 3], replicas: [1, 2, 3] });
  });

  test('a dead leader is replaced from the ISR and the leader epoch is bumped', () => {
    const state = cluster();
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, 2500);
    expect(state.expireSessions(3100, 3000)).toBe(true);
    expect(state.partition('t', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
  });

  test('a dead follower leaves the ISR without an epoch bump', () => {
    const state = cluster();
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 2500);
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.expireSessions(3100, 3000);
    expect(state.partition('t', 0)).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 2] });
  });

  test('without unclean election, a partition whose ISR is dead stays offline until an ISR member returns', () => {
    const state = cluster();
    const before = state.partition('t', 0)!;
    state.alterIsr(
      {
        brokerId: 1,
        topic: 't',
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: before.partitionEpoch,
        isr: [1],
      },
      0,
    );
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, 2500);
    state.expireSessions(3100, 3000);
    expect(state.partition('t', 0)).toMatchObject({ leader: -1, leaderEpoch: 1, isr: [1] });
    state.heartbeat(1, 'inc-1b', '127.0.0.1', 1001, 4000);
    expect(state.partition('t', 0)).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [1] });
  });

  test('with unclean election, a live out-of-sync replica is elected', () => {
    const state = cluster(true);
    const before = state.partition('t', 0)!;
    state.alterIsr(
      {
        brokerId: 1,
        topic: 't',
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: before.partitionEpoch,
        isr: [1],
      },
      0,
    );
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, 2500);
    state.expireSessions(3100, 3000);
    expect(state.partition('t', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2] });
  });

  test('a restarted leader (new incarnation) loses its leadership at once', () => {
    const state = cluster();
    state.heartbeat(1, 'inc-1-restarted', '127.0.0.1', 2001, 100);
    expect(state.partition('t', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
    expect(state.broker(1)).toMatchObject({ alive: true, port: 2001 });
  });
});

describe('ISR changes from leaders', () => {
  test('are accepted from the current leader in its epoch and bump the partition epoch', () => {
    const state = cluster();
    const decided = state.alterIsr(
      {
        brokerId: 1,
        topic: 't',
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
        isr: [1, 2],
      },
      0,
    );
    expect(decided).toMatchObject({ isr: [1, 2], partitionEpoch: 1 });
  });

  test('are refused from a fenced leader or a stale partition epoch', () => {
    const state = cluster();
    const fenced = () =>
      state.alterIsr(
        { brokerId: 2, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, isr: [2] },
        0,
      );
    expect(fenced).toThrowError(BrokerError);
    expect(() => fenced()).toThrow(/leader is 1/);
    state.alterIsr(
      { brokerId: 1, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, isr: [1, 2] },
      0,
    );
    try {
      state.alterIsr(
        { brokerId: 1, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, isr: [1] },
        0,
      );
      expect.unreachable();
    } catch (err) {
      expect((err as BrokerError).code).toBe('INVALID_UPDATE_VERSION');
    }
  });

  test('cannot add a dead broker', () => {
    const state = cluster();
    state.alterIsr(
      { brokerId: 1, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, isr: [1, 2] },
      0,
    );
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 2500);
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.expireSessions(3100, 3000);
    expect(() =>
      state.alterIsr(
        {
          brokerId: 1,
          topic: 't',
          partition: 0,
          leaderEpoch: 0,
          partitionEpoch: 1,
          isr: [1, 2, 3],
        },
        0,
      ),
    ).toThrow(/only live replicas/);
  });
});

describe('the partition epoch', () => {
  test('is bumped when the controller changes an ISR while waiting for presumed members to heartbeat', () => {
    // A restarted controller: broker 2 presumed alive (not heard from since), broker 3 dead,
    // the partition leaderless with ISR [2, 3], waiting for broker 2.
    const state = ControllerState.restore(
      {
        minInsyncReplicas: 2,
        uncleanLeaderElection: false,
        defaultPartitions: 1,
        defaultReplicationFactor: 3,
      },
      {
        version: 10,
        controller: { host: '127.0.0.1', port: 1 },
        brokers: [
          { id: 1, host: '127.0.0.1', port: 1001, incarnation: 'inc-1', alive: true },
          { id: 2, host: '127.0.0.1', port: 1002, incarnation: 'inc-2', alive: true },
          { id: 3, host: '127.0.0.1', port: 1003, incarnation: 'inc-3', alive: false },
        ],
        partitions: [
          {
            topic: 't',
            partition: 0,
            replicas: [1, 2, 3],
            leader: -1,
            leaderEpoch: 4,
            isr: [2, 3],
            partitionEpoch: 7,
          },
        ],
      },
      0,
    );
    // Broker 1 heartbeats: an election runs; broker 2 is still only presumed, so the partition waits,
    // and dead broker 3 leaves the ISR on the way.
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 100);
    const p = state.partition('t', 0)!;
    expect(p).toMatchObject({ leader: -1, leaderEpoch: 4, isr: [2] });
    // The ISR changed, so the partition epoch moved: a proposal computed from [2, 3] is stale now.
    expect(p.partitionEpoch).toBe(8);
  });

  test('moves with every change of leader or ISR, and with nothing else', () => {
    const state = cluster();
    const epochs = [state.partition('t', 0)!.partitionEpoch];
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 2500);
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 2500);
    state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, 2500);
    epochs.push(state.partition('t', 0)!.partitionEpoch);
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 5000);
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, 5000);
    state.expireSessions(5600, 3000);
    epochs.push(state.partition('t', 0)!.partitionEpoch);
    expect(epochs).toEqual([0, 0, 1]);
  });
});

describe('topic creation', () => {
  test("a topic's own min.insync.replicas is kept on its partitions; one above its replication factor is refused", () => {
    const state = cluster();
    state.createTopic({ topic: 'strict', partitions: 2, replicationFactor: 3, minInsyncReplicas: 3 }, 0);
    expect(state.partition('strict', 0)).toMatchObject({ minInsyncReplicas: 3 });
    expect(state.partition('strict', 1)).toMatchObject({ minInsyncReplicas: 3 });
    // Without one, the cluster's applies (the broker reads config.minInsyncReplicas).
    expect(state.partition('t', 0)?.minInsyncReplicas).toBeUndefined();
    const versionBefore = state.version;
    expect(() =>
      state.createTopic({ topic: 'bad', partitions: 1, replicationFactor: 2, minInsyncReplicas: 3 }, 0),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(state.hasTopic('bad')).toBe(false);
    expect(state.version).toBe(versionBefore);
  });

  test('an existing name is refused with TOPIC_ALREADY_EXISTS and nothing changes', () => {
    const state = cluster();
    const before = state.partition('t', 0);
    expect(() => state.createTopic({ topic: 't', partitions: 5, replicationFactor: 1 }, 0)).toThrow(
      expect.objectContaining({ code: 'TOPIC_ALREADY_EXISTS' }),
    );
    expect(state.partition('t', 0)).toEqual(before);
    expect(state.partition('t', 1)).toBeUndefined();
  });
});
