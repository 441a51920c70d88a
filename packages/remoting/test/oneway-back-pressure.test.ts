/**
 * invokeOneway's callback form: a loop that sends many oneway requests with
 * no promise per request, waiting only when the client says to back off
 * (the return value false), once, on waitWritable: the discipline of
 * stream.write() and 'drain'. The callback hears each request's end exactly
 * once and never before invokeOneway returned; a peer that stops reading
 * holds the client's buffer at the high watermark, not above it.
 */
import { expect, test } from 'vitest';
import {
  RemotingCommand,
  RemotingConnectError,
  RemotingEncodeError,
  RemotingSendRequestError,
  SerializeType,
} from '../src/index.js';
import type { Channel } from '../src/transport/channel.js';
import { eventually, newClient, startServer } from './helpers/servers.js';
import { startRawServer } from './support/raw-server.js';

const COUNTED = 20;
const HIGH_WATER_MARK = 64 * 1024;

/** A oneway request carrying its sequence number in its body. */
function numbered(sequence: number, bodyBytes = 16): RemotingCommand {
  const body = Buffer.alloc(Math.max(4, bodyBytes));
  body.writeUInt32BE(sequence, 0);
  return RemotingCommand.createRequest(COUNTED).setBody(body);
}

/** What a test's callbacks heard: how often, with what, and whether any came before its call returned. */
function recorder() {
  const heard = { calls: 0, errors: [] as Error[], early: 0 };
  let returned = true;
  const callback = (error: Error | null): void => {
    heard.calls += 1;
    if (!returned) heard.early += 1;
    if (error !== null) heard.errors.push(error);
  };
  /** Sends through `send` and notes whether the callback ran before it returned. */
  const guard = <T>(send: () => T): T => {
    returned = false;
    try {
      return send();
    } finally {
      returned = true;
    }
  };
  return { heard, callback, guard };
}

async function countingServer() {
  const { server, address } = await startServer();
  const received: number[] = [];
  server.registerProcessor(COUNTED, {
    processRequest: (_ctx, request) => {
      received.push((request.body as Buffer).readUInt32BE(0));
      return null;
    },
  });
  return { server, address, received };
}

test('a loop sends 20,000 requests, waiting only when told to; each arrives once, in order, each callback once with null', async () => {
  const { address, received } = await countingServer();
  const client = newClient();
  const { heard, callback, guard } = recorder();
  const total = 20_000;
  let waits = 0;
  for (let sequence = 0; sequence < total; sequence++) {
    const goOn = guard(() => client.invokeOneway(address, numbered(sequence), 30_000, callback));
    if (!goOn) {
      waits += 1;
      expect(await client.waitWritable(address, 30_000)).toBe(true);
    }
  }
  await eventually(() => received.length === total, 60_000, `${total} requests at the server`);
  expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
  await eventually(() => heard.calls === total, 10_000, 'every callback');
  expect(heard).toEqual({ calls: total, errors: [], early: 0 });
  // Waits come per batch (the first call connects; then each time a tick's frames pass the
  // high watermark), nowhere near one per request.
  expect(waits).toBeGreaterThanOrEqual(1);
  expect(waits).toBeLessThan(total / 50);
  expect(client.stats().onewayPermits.available).toBe(client.stats().onewayPermits.total);
  expect(client.stats().callsByCode[COUNTED]?.count).toBe(total);
});

test('a peer that stops reading: the loop is told to wait at the high watermark, waitWritable says false until the peer reads again', async () => {
  const silent = await startRawServer((connection) => connection.socket.pause());
  const client = newClient();
  let channel: Channel | undefined;
  client.on('connect', (_remote, connected) => {
    channel = connected;
  });
  const { heard, callback, guard } = recorder();
  const body = 1024;
  let sent = 0;
  let mostBuffered = 0;
  for (;;) {
    // Loopback kernel buffers take a few MB before the connection stays unwritable.
    if (sent > 200_000) throw new Error(`still writable after ${sent} requests`);
    const goOn = guard(() => client.invokeOneway(silent.address, numbered(sent, body), 60_000, callback));
    sent += 1;
    mostBuffered = Math.max(mostBuffered, channel?.bufferedBytes ?? 0);
    if (goOn) continue;
    if (!(await client.waitWritable(silent.address, 300))) break;
  }
  // Nothing piles up past the watermark: the request that crossed it is the last one taken.
  expect(mostBuffered).toBeLessThanOrEqual(HIGH_WATER_MARK + body + 256);
  expect(client.isChannelWritable(silent.address)).toBe(false);
  expect(client.stats().writeWaiters.calls).toBe(0);
  const waiting = client.waitWritable(silent.address, 60_000);
  for (const connection of silent.connections) connection.socket.resume();
  expect(await waiting).toBe(true);
  await eventually(() => silent.requests.length === sent, 60_000, `${sent} requests at the peer`);
  expect(silent.requests.map((r) => (r.body as Buffer).readUInt32BE(0))).toEqual(
    Array.from({ length: sent }, (_, i) => i),
  );
  expect(silent.requests.every((r) => r.isOneway())).toBe(true);
  await eventually(() => heard.calls === sent, 10_000, 'every callback');
  expect(heard.errors).toEqual([]);
  expect(heard.early).toBe(0);
});

test('with its oneway permits all taken, a request is told to wait and still goes; waitWritable waits for a permit', async () => {
  const { address, received } = await countingServer();
  const client = newClient({ permitsOneway: 2 });
  const { heard, callback, guard } = recorder();
  await client.waitWritable(address, 10_000);
  // Permits come back once the flush holding the requests is written: not within this run.
  expect(guard(() => client.invokeOneway(address, numbered(0), 10_000, callback))).toBe(true);
  expect(guard(() => client.invokeOneway(address, numbered(1), 10_000, callback))).toBe(true);
  expect(client.stats().onewayPermits.available).toBe(0);
  expect(guard(() => client.invokeOneway(address, numbered(2), 10_000, callback))).toBe(false);
  expect(await client.waitWritable(address, 10_000)).toBe(true);
  expect(guard(() => client.invokeOneway(address, numbered(3), 10_000, callback))).toBe(true);
  await eventually(() => received.length === 4, 10_000, 'four requests');
  expect(received).toEqual([0, 1, 2, 3]);
  await eventually(() => heard.calls === 4, 10_000, 'four callbacks');
  expect(heard).toEqual({ calls: 4, errors: [], early: 0 });
  expect(client.stats().onewayPermits.available).toBe(2);
});

test('failures reach the callback once, after invokeOneway returned: encoding, a hook, a connection that cannot open or dies before the flush', async () => {
  const { address } = await countingServer();
  const hookError = new Error('hook says no');
  const client = newClient({
    rpcHooks: [
      {
        doBeforeRequest: (_remote, request) => {
          if (request.getExtField('refuse') !== undefined) throw hookError;
        },
        doAfterResponse: () => {},
      },
    ],
  });
  let channel: Channel | undefined;
  client.on('connect', (_remote, connected) => {
    channel = connected;
  });
  await client.waitWritable(address, 10_000);
  const { heard, callback, guard } = recorder();

  const tooBig = RemotingCommand.createRequest(40_000);
  tooBig.serializeType = SerializeType.ROCKETMQ;
  expect(guard(() => client.invokeOneway(address, tooBig, 10_000, callback))).toBe(true);
  expect(
    guard(() => client.invokeOneway(address, numbered(1).addExtField('refuse', 'y'), 10_000, callback)),
  ).toBe(true);
  await eventually(() => heard.calls === 2, 10_000, 'two callbacks');
  expect(heard.errors[0]).toBeInstanceOf(RemotingEncodeError);
  expect(heard.errors[1]).toBe(hookError);

  // The connection dies in the same tick, before its frames are flushed: never written.
  guard(() => client.invokeOneway(address, numbered(2), 10_000, callback));
  (channel as Channel).destroy();
  await eventually(() => heard.calls === 3, 10_000, 'the third callback');
  const lost = heard.errors[2] as RemotingSendRequestError;
  expect(lost).toBeInstanceOf(RemotingSendRequestError);
  expect(lost).toMatchObject({ written: false, requestCode: COUNTED, remoteAddress: address });

  const nowhere = '127.0.0.1:1';
  expect(guard(() => client.invokeOneway(nowhere, numbered(3), 2000, callback))).toBe(false);
  await expect(client.waitWritable(nowhere, 2000)).rejects.toBeInstanceOf(RemotingConnectError);
  await eventually(() => heard.calls === 4, 10_000, 'the fourth callback');
  expect(heard.errors[3]).toBeInstanceOf(RemotingConnectError);
  expect(heard.early).toBe(0);
  expect(client.stats().onewayPermits.available).toBe(client.stats().onewayPermits.total);
});

test('a server sends to a client the same way: invokeOneway(channel, ..., callback) and waitWritable(channel)', async () => {
  const { server, address } = await startServer();
  const client = newClient();
  const received: number[] = [];
  client.registerProcessor(COUNTED, {
    processRequest: (_ctx, request) => {
      received.push((request.body as Buffer).readUInt32BE(0));
      return null;
    },
  });
  await client.waitWritable(address, 10_000);
  await eventually(() => server.connections().length === 1, 10_000, 'the connection');
  const channel = server.connections()[0] as Channel;
  const { heard, callback, guard } = recorder();
  const total = 5000;
  for (let sequence = 0; sequence < total; sequence++) {
    if (!guard(() => server.invokeOneway(channel, numbered(sequence), 30_000, callback))) {
      expect(await server.waitWritable(channel, 30_000)).toBe(true);
    }
  }
  await eventually(() => received.length === total, 60_000, `${total} requests at the client`);
  expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
  await eventually(() => heard.calls === total, 10_000, 'every callback');
  expect(heard).toEqual({ calls: total, errors: [], early: 0 });
});
