/**
 * A ResponseFuture keeps one record of whether its request may have reached
 * the peer; its state is read from that record, so the two never disagree:
 * a write the channel reports as never having left puts it back to pending.
 */
import net from 'node:net';
import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { Permits } from '../src/remoting/permits.js';
import { ResponseFuture } from '../src/remoting/response-future.js';
import { Channel } from '../src/transport/channel.js';
import { onCleanup } from './helpers/servers.js';

async function channelPair(): Promise<Channel> {
  const listener = net.createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  onCleanup(async () => {
    socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  return new Channel(socket);
}

test('written and state come from one record: a write that never left makes the call pending again', async () => {
  const channel = await channelPair();
  const future = ResponseFuture.sync(channel, RemotingCommand.createRequest(1), 1000, performance.now());
  expect([future.state, future.written]).toEqual(['pending', false]);
  future.markWritten();
  expect([future.state, future.written]).toEqual(['written', true]);
  future.markUnsent();
  expect([future.state, future.written]).toEqual(['pending', false]);
  expect(future.facts().written).toBe(false);
  future.fail(new Error('the connection closed'));
  // The end keeps what it was at the end.
  expect([future.state, future.written]).toEqual(['failed', false]);
});

test('an illegal transition throws rather than being ignored; a second end is refused and changes nothing', async () => {
  const channel = await channelPair();
  const permits = new Permits(1);
  expect(permits.tryTake()).toBe(true);
  const future = ResponseFuture.async(
    channel,
    RemotingCommand.createRequest(1),
    1000,
    performance.now(),
    () => {},
    permits,
  );
  future.markWritten();
  expect(() => future.markWritten()).toThrow(/markWritten in state written/);
  const response = RemotingCommand.createResponse(0);
  expect(future.complete(response)).toBe(true);
  expect(permits.available).toBe(1);
  expect(future.fail(new Error('late'))).toBe(false);
  expect(() => future.markWritten()).toThrow(/markWritten in state completed/);
  future.markUnsent();
  expect([future.state, future.written, future.response]).toEqual(['completed', true, response]);
  expect(permits.available).toBe(1);
});
