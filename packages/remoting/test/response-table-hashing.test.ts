/**
 * The response table is a hash table of its own (open addressing, backward-shift
 * deletion): checked against a Map under random churn, colliding opaques and growth.
 */
import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { Permits } from '../src/remoting/permits.js';
import { ResponseFuture } from '../src/remoting/response-future.js';
import { ResponseTable } from '../src/remoting/response-table.js';
import type { Channel } from '../src/transport/channel.js';

// The table only compares channels by identity; two distinct objects stand for two connections.
const channelA = { remoteAddress: '127.0.0.1:1' } as Channel;
const channelB = { remoteAddress: '127.0.0.1:2' } as Channel;

function futureFor(opaque: number, channel: Channel, startedAt: number): ResponseFuture {
  return ResponseFuture.async(
    channel,
    new RemotingCommand(1, opaque),
    1000,
    startedAt,
    () => {},
    new Permits(1),
  );
}

/** A deterministic pseudo-random sequence (xorshift32), so a failure replays. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('random puts, takes and removes agree with a Map, through growth and shrinking in-flight counts', () => {
  const table = new ResponseTable();
  const model = new Map<number, ResponseFuture>();
  const next = random(42);
  let clock = 0;
  for (let step = 0; step < 200_000; step++) {
    const r = next();
    // Opaques from a small range collide often; the in-flight count swings past the first growth.
    const opaque = Math.floor(next() * 6000) - 3000;
    const phase = Math.floor(step / 20_000) % 2 === 0 ? 0.6 : 0.4;
    if (r < phase) {
      const future = futureFor(opaque, next() < 0.5 ? channelA : channelB, clock++);
      const expected = !model.has(opaque);
      expect(table.put(future)).toBe(expected);
      if (expected) model.set(opaque, future);
    } else if (r < phase + 0.25) {
      const channel = next() < 0.5 ? channelA : channelB;
      const live = model.get(opaque);
      const expected = live !== undefined && live.channel === channel ? live : undefined;
      expect(table.take(channel, opaque)).toBe(expected);
      if (expected !== undefined) model.delete(opaque);
    } else {
      const live = model.get(opaque);
      if (live !== undefined) {
        table.remove(live);
        model.delete(opaque);
      } else {
        table.remove(futureFor(opaque, channelA, clock++));
      }
    }
    expect(table.size).toBe(model.size);
  }
  for (const [opaque, future] of model) expect(table.take(future.channel, opaque)).toBe(future);
  expect(table.size).toBe(0);
});

test('a registered future is refused a second time only while another call holds its opaque', () => {
  const table = new ResponseTable();
  const first = futureFor(7, channelA, 1);
  expect(table.put(first)).toBe(true);
  expect(table.put(first)).toBe(true);
  expect(table.size).toBe(1);
  expect(table.put(futureFor(7, channelB, 2))).toBe(false);
  expect(table.take(channelB, 7)).toBeUndefined();
  expect(table.take(channelA, 7)).toBe(first);
  expect(table.put(futureFor(7, channelB, 3))).toBe(true);
});

test('takeForChannel, takeExpired and takeAll return calls in the order they began and leave the rest', () => {
  const table = new ResponseTable();
  const futures: ResponseFuture[] = [];
  // Enough to grow the table; opaques in an order unrelated to the start times.
  for (let i = 0; i < 3000; i++) {
    const future = futureFor((i * 7919) % 100_003, i % 3 === 0 ? channelB : channelA, i);
    futures.push(future);
    expect(table.put(future)).toBe(true);
  }
  const onB = table.takeForChannel(channelB);
  expect(onB).toEqual(futures.filter((_, i) => i % 3 === 0));
  expect(table.size).toBe(2000);
  // Deadline = start + 1000 ms; at now = 2500 with no grace, calls started before 1500 have expired.
  const expired = table.takeExpired(2500, 0);
  expect(expired).toEqual(futures.filter((f, i) => i % 3 !== 0 && f.beginTimestamp < 1500));
  const rest = table.takeAll();
  expect(rest).toEqual(futures.filter((f, i) => i % 3 !== 0 && f.beginTimestamp >= 1500));
  expect(table.size).toBe(0);
  for (const future of futures) expect(table.take(future.channel, future.opaque)).toBeUndefined();
});
