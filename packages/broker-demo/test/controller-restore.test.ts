import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ControllerState } from '../src/controller/controller-state.js';
import { CONTROLLER_STATE_FILE, ControllerStore } from '../src/controller/controller-store.js';
import { BrokerError } from '../src/protocol/errors.js';

const CONFIG = {
  minInsyncReplicas: 2,
  uncleanLeaderElection: false,
  defaultPartitions: 1,
  defaultReplicationFactor: 3,
};
const SESSION_MS = 3000;
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempStore(): ControllerStore {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'controller-store-'));
  dirs.push(dir);
  return new ControllerStore(dir);
}

function running(): ControllerState {
  const state = new ControllerState(CONFIG, { host: '127.0.0.1', port: 4000 });
  for (const id of [1, 2, 3]) state.heartbeat(id, `inc-${id}`, '127.0.0.1', 1000 + id, 0);
  state.createTopic({ topic: 't', partitions: 1, replicationFactor: 3 }, 0);
  return state;
}

describe('controller state across a restart', () => {
  test('what is saved is what is restored, written atomically (no temp file left)', () => {
    const store = tempStore();
    expect(store.load()).toBeNull();
    const before = running();
    store.save(before.persisted());
    expect(readdirSync(path.dirname(store.file))).toEqual([CONTROLLER_STATE_FILE]);
    const loaded = store.load()!;
    expect(loaded).toEqual(before.persisted());
    const after = ControllerState.restore(CONFIG, loaded, 50_000);
    expect(after.partition('t', 0)).toEqual(before.partition('t', 0));
    // A version past every one a broker may hold, so the next push is applied.
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.aliveBrokerIds().sort()).toEqual([1, 2, 3]);
  });

  test('an unreadable state file is a typed error, not an empty cluster', () => {
    const store = tempStore();
    writeFileSync(store.file, '{"version":');
    expect(() => store.load()).toThrow(expect.objectContaining({ code: 'CONTROLLER_STATE_CORRUPT' }));
  });

  test('after a restart every broker gets a full session before anything is elected', () => {
    const restartedAt = 50_000;
    const state = ControllerState.restore(CONFIG, running().persisted(), restartedAt);
    // Brokers 2 and 3 heartbeat; broker 1 (the leader) died while the controller was down.
    state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, restartedAt + 1000);
    state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, restartedAt + 1000);
    expect(state.expireSessions(restartedAt + SESSION_MS, SESSION_MS)).toBe(false);
    expect(state.partition('t', 0)).toMatchObject({ leader: 1, leaderEpoch: 0 });
    expect(state.expireSessions(restartedAt + SESSION_MS + 1, SESSION_MS)).toBe(true);
    expect(state.partition('t', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
  });

  test('a broker restarted while the controller was down (new incarnation) rejoins at once as a follower', () => {
    const restartedAt = 50_000;
    const state = ControllerState.restore(CONFIG, running().persisted(), restartedAt);
    state.heartbeat(3, 'inc-3-again', '127.0.0.1', 2003, restartedAt + 10);
    expect(state.broker(3)).toMatchObject({ alive: true, incarnation: 'inc-3-again', port: 2003 });
    // Treated as a death then a birth: out of the ISR until its leader proposes it back.
    expect(state.partition('t', 0)).toMatchObject({ leader: 1, isr: [1, 2] });
  });
});

test('a leader restarted while the controller was down is replaced by a broker that has heartbeated, not by one merely presumed alive', () => {
  const restartedAt = 50_000;
  const state = ControllerState.restore(CONFIG, running().persisted(), restartedAt);
  state.heartbeat(3, 'inc-3', '127.0.0.1', 1003, restartedAt + 10);
  // Broker 1 (the leader) comes back as a new process; broker 2 has not been heard from.
  state.heartbeat(1, 'inc-1-again', '127.0.0.1', 2001, restartedAt + 20);
  expect(state.partition('t', 0)).toMatchObject({ leader: 3, leaderEpoch: 1 });
});

test('with only presumed brokers left the partition waits offline, and the first of them to heartbeat leads', () => {
  const restartedAt = 50_000;
  const state = ControllerState.restore(CONFIG, running().persisted(), restartedAt);
  state.heartbeat(1, 'inc-1-again', '127.0.0.1', 2001, restartedAt + 20);
  expect(state.partition('t', 0)).toMatchObject({ leader: -1 });
  state.heartbeat(2, 'inc-2', '127.0.0.1', 1002, restartedAt + 30);
  expect(state.partition('t', 0)).toMatchObject({ leader: 2, isr: [2, 3] });
});

describe('a leader stepping down (its log is damaged)', () => {
  test('hands leadership to a live ISR member in a new epoch and leaves the ISR', () => {
    const state = running();
    const decided = state.resignLeadership(
      {
        brokerId: 1,
        topic: 't',
        partition: 0,
        leaderEpoch: 0,
        reason: 'test',
      },
      0,
    );
    expect(decided).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });
  });

  test('is refused from a broker that is not the current leader, or with no one to take over', () => {
    const state = running();
    expect(() =>
      state.resignLeadership({ brokerId: 2, topic: 't', partition: 0, leaderEpoch: 0, reason: 'test' }, 0),
    ).toThrow(BrokerError);
    state.heartbeat(1, 'inc-1', '127.0.0.1', 1001, 5000);
    state.expireSessions(5000, SESSION_MS);
    const p = state.partition('t', 0)!;
    expect(p).toMatchObject({ leader: 1, isr: [1] });
    expect(() =>
      state.resignLeadership(
        {
          brokerId: 1,
          topic: 't',
          partition: 0,
          leaderEpoch: p.leaderEpoch,
          reason: 'test',
        },
        0,
      ),
    ).toThrow(/no other live ISR member/);
  });
});
