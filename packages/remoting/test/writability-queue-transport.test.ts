/**
 * WritabilityQueue on a bare Channel over a loopback socket pair (no
 * processors, no futures): waiters are released one at a time, in order,
 * only while the channel stays writable; a cancelled waiter is skipped; a
 * close tells every remaining waiter.
 */
import net from 'node:net';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { Channel } from '../src/transport/channel.js';
import { WritabilityQueue, type WritabilityWaiter } from '../src/transport/writability-queue.js';
import { onCleanup, sleep } from './helpers/servers.js';

const HIGH = 16 * 1024;
const LOW = 8 * 1024;
const BODY = Buffer.alloc(32 * 1024, 9);

async function socketPair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const far = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => far.once('connect', () => resolve()));
  const near = await accepted;
  listener.close();
  far.on('error', () => {});
  near.on('error', () => {});
  onCleanup(() => {
    near.destroy();
    far.destroy();
  });
  return { near, far };
}

/** Writes until the channel stays unwritable (the kernel stopped absorbing). */
async function fill(channel: Channel): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (!channel.isWritable()) {
      // A check phase after the pause lets a poll phase run first: on a starved machine the
      // timer may run before libuv had its chance to write into room the kernel had.
      await sleep(50);
      await nextMacrotask();
      if (!channel.isWritable()) return;
    }
    channel.write(RemotingCommand.createRequest(1).setBody(BODY));
    await nextMacrotask();
  }
  throw new Error('the channel never became unwritable');
}

test('waiters are released in order, one frame at a time, only while writable; cancelled ones are skipped', async () => {
  const { near, far } = await socketPair();
  far.pause();
  const channel = new Channel(near, { writeBufferHighWaterMark: HIGH, writeBufferLowWaterMark: LOW });
  const queue = new WritabilityQueue(channel);
  await fill(channel);

  const released: number[] = [];
  let maxBuffered = 0;
  let releasedWhileUnwritable = 0;
  const waiter = (id: number): WritabilityWaiter => ({
    bytes: BODY.length,
    onWritable: () => {
      // Recorded, not asserted here: the queue keeps a throwing waiter from stopping the others.
      if (!channel.isWritable()) releasedWhileUnwritable += 1;
      released.push(id);
      channel.write(RemotingCommand.createRequest(2).setBody(BODY));
      maxBuffered = Math.max(maxBuffered, channel.bufferedBytes);
    },
    onClosed: () => released.push(-id),
  });
  const tickets = Array.from({ length: 40 }, (_, i) => queue.enqueue(waiter(i)));
  expect(queue.waiting).toBe(40);
  expect(queue.queuedBytes).toBe(40 * BODY.length);
  queue.cancel(tickets[3] as (typeof tickets)[number]);
  queue.cancel(tickets[3] as (typeof tickets)[number]);
  expect(queue.waiting).toBe(39);
  expect(queue.queuedBytes).toBe(39 * BODY.length);
  expect(released).toEqual([]);

  far.resume();
  const deadline = performance.now() + 60_000;
  while (queue.waiting > 0 && performance.now() < deadline) await sleep(10);
  expect(released).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 3));
  expect(releasedWhileUnwritable).toBe(0);
  // Each released waiter wrote while the buffer was at or below the high mark: at most one frame over it.
  expect(maxBuffered).toBeLessThanOrEqual(HIGH + BODY.length + 1024);
});

test('a close tells every waiter still queued, and a waiter enqueued after it hears at once', async () => {
  const { near, far } = await socketPair();
  far.pause();
  const channel = new Channel(near, { writeBufferHighWaterMark: HIGH, writeBufferLowWaterMark: LOW });
  const queue = new WritabilityQueue(channel);
  await fill(channel);
  const heard: string[] = [];
  const waiter = (name: string): WritabilityWaiter => ({
    bytes: 1,
    onWritable: () => heard.push(`${name}:writable`),
    onClosed: () => heard.push(`${name}:closed`),
  });
  queue.enqueue(waiter('a'));
  queue.enqueue(waiter('b'));
  channel.destroy();
  await channel.whenClosed();
  expect(heard).toEqual(['a:closed', 'b:closed']);
  queue.enqueue(waiter('c'));
  expect(heard).toEqual(['a:closed', 'b:closed', 'c:closed']);
  expect(queue.waiting).toBe(0);
});
