import { describe, expect, test } from 'vitest';
import { NameServerList } from '../src/name-server/list.js';

const A = '127.0.0.1:1001';
const B = '127.0.0.1:1002';
const C = '127.0.0.1:1003';
const NOW = 1_700_000_000_000;

/** A list whose random start index is `start` (RocketMQ: a random number below 999). */
function listStartingAt(start: number): NameServerList {
  return new NameServerList(() => start / 999);
}

describe('NameServerList', () => {
  test('choosing starts one past a random index and goes round-robin', () => {
    const list = listStartingAt(4);
    list.update([A, B, C]);
    // (4 + 1) % 3 = 2
    expect(list.candidates()).toEqual([C, A, B]);
    expect(list.candidates()).toEqual([A, B, C]);
  });

  test('after a choice, the next search starts with the server after the chosen one', () => {
    const list = listStartingAt(0);
    list.update([A, B, C]);
    list.choose(A, NOW);
    expect(list.chosen).toBe(A);
    expect(list.candidates()[0]).toBe(B);
    list.choose(C, NOW);
    expect(list.candidates()[0]).toBe(A);
  });

  test('servers found unreachable are tried last, not dropped', () => {
    const list = listStartingAt(2);
    list.update([A, B, C]);
    list.markUnreachable(A, NOW, 'refused');
    expect(list.candidates()).toEqual([B, C, A]);
    expect(list.candidates()).toEqual([B, C, A]);
    // Round-robin order would be [C, A, B]; A goes last.
    expect(list.candidates()).toEqual([C, B, A]);
    list.markReachable(A, NOW + 1);
    expect(list.candidates()).toEqual([A, B, C]);
  });

  test('an update in another order changes nothing; one that drops the chosen server reports it', () => {
    const list = listStartingAt(0);
    expect(list.update([A, B])).toEqual({ changed: true, droppedChosen: null });
    list.choose(B, NOW);
    expect(list.update([B, A])).toEqual({ changed: false, droppedChosen: null });
    expect(list.list()).toEqual([A, B]);
    expect(list.update([A, C])).toEqual({ changed: true, droppedChosen: B });
    expect(list.chosen).toBeNull();
    expect(list.snapshot(false).servers.map((s) => s.address)).toEqual([A, C]);
  });

  test('duplicates collapse; an empty list or a bad address is refused and changes nothing', () => {
    const list = listStartingAt(0);
    list.update([A, A, B]);
    expect(list.list()).toEqual([A, B]);
    expect(() => list.update([])).toThrow(TypeError);
    expect(() => list.update([A, 'nohost'])).toThrow(/host:port/);
    expect(list.list()).toEqual([A, B]);
  });

  test('the snapshot says who is chosen, who is available, and when each was seen or failed', () => {
    const list = listStartingAt(0);
    list.update([A, B, C]);
    list.choose(A, NOW);
    list.markUnreachable(B, NOW + 5, 'connect ECONNREFUSED');
    expect(list.available()).toEqual([A]);
    expect(list.snapshot(true)).toEqual({
      addresses: [A, B, C],
      chosen: A,
      scanning: true,
      servers: [
        { address: A, available: true, lastSeenAt: NOW, lastFailedAt: null, lastError: null },
        {
          address: B,
          available: false,
          lastSeenAt: null,
          lastFailedAt: NOW + 5,
          lastError: 'connect ECONNREFUSED',
        },
        { address: C, available: null, lastSeenAt: null, lastFailedAt: null, lastError: null },
      ],
    });
  });

  test('an address no longer on the list cannot be chosen', () => {
    const list = listStartingAt(0);
    list.update([A, B]);
    list.update([B, C]);
    expect(list.choose(A, NOW)).toBe(false);
    expect(list.chosen).toBeNull();
    expect(list.choose(C, NOW)).toBe(true);
  });

  test('clearing the choice of another address leaves the choice alone', () => {
    const list = listStartingAt(0);
    list.update([A, B]);
    list.choose(A, NOW);
    list.clearChoice(B);
    expect(list.chosen).toBe(A);
    list.clearChoice(A);
    expect(list.chosen).toBeNull();
  });
});
