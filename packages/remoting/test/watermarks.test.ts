/**
 * High/low write-buffer watermarks: a peer that does not read makes the
 * channel unwritable (isWritable() false, writabilityChanged(false)); callers
 * wait instead of piling bytes up, and resume once the peer reads
 * (writabilityChanged(true)). A server stops reading from a connection it
 * cannot write to, as RocketMQ turns Netty's autoRead off.
 *
 * Loopback kernel buffers absorb a few MB before Node's own buffer grows, so
 * the tests write large bodies until the watermark trips rather than a fixed amount.
 */
import net from 'node:net';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { FrameDecoder, RemotingCommand, ResponseCode } from '../src/index.js';
import { Channel } from '../src/transport/channel.js';
import {
  EchoCode,
  eventually,
  newClient,
  onCleanup,
  sleep,
  startEchoServer,
  startServer,
} from './helpers/servers.js';

const HIGH = 16 * 1024;
const LOW = 8 * 1024;
const BIG_BODY = Buffer.alloc(256 * 1024, 1);
/** Enough to fill any loopback socket's kernel buffers several times over. */
const MAX_BYTES_TO_FILL = 256 * 1024 * 1024;

/** A raw client connected to `port`, destroyed after the test. */
async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  onCleanup(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Both ends of a loopback TCP connection, destroyed after the test. */
async function socketPair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const far = await rawClient((listener.address() as net.AddressInfo).port);
  const near = await accepted;
  listener.close();
  onCleanup(() => {
    near.destroy();
  });
  return { near, far };
}

/**
 * Whether the channel is unwritable and stays so: the kernel has stopped
 * absorbing. After the pause, a check phase (setImmediate) lets a poll phase
 * run first, so on a loaded machine, where the timer may be the first thing
 * to run after the process was starved, libuv still gets its chance to write
 * into whatever room the kernel had before the verdict.
 */
async function staysUnwritable(channel: Channel): Promise<boolean> {
  const buffered = channel.bufferedBytes;
  await sleep(50);
  await nextMacrotask();
  return !channel.isWritable() && channel.bufferedBytes >= buffered;
}

/** Until the channel stays unwritable (the kernel has stopped absorbing), runs `write` and yields to I/O. */
async function writeUntilStuck(channel: Channel, write: () => Promise<void> | void): Promise<number> {
  let writes = 0;
  for (;;) {
    if (!channel.isWritable()) {
      if (await staysUnwritable(channel)) return writes;
      continue;
    }
    if (writes * BIG_BODY.length > MAX_BYTES_TO_FILL)
      throw new Error(`still writable after ${writes} writes`);
    await write();
    writes += 1;
    await nextMacrotask();
  }
}

/** Writes big frames until the channel stays unwritable. */
function fillUntilUnwritable(channel: Channel): Promise<number> {
  return writeUntilStuck(channel, () => {
    channel.write(RemotingCommand.createRequest(1).setBody(BIG_BODY));
  });
}

/**
 * While the kernel still absorbs, every big write trips the high mark and
 * the flush that follows clears it: the events strictly alternate, start
 * with false, and (once stuck) end with false.
 */
function expectStuckAfterAlternating(changes: boolean[]): void {
  expect(changes.length % 2).toBe(1);
  expect(changes).toEqual(changes.map((_, i) => i % 2 === 1));
}

test('a peer that does not read trips the high watermark; reading brings the channel back below the low one', async () => {
  const { near, far } = await socketPair();
  far.pause();
  const channel = new Channel(near, { writeBufferHighWaterMark: HIGH, writeBufferLowWaterMark: LOW });
  const changes: boolean[] = [];
  channel.on('writabilityChanged', (writable) => changes.push(writable));

  await fillUntilUnwritable(channel);

  expect(channel.isWritable()).toBe(false);
  expectStuckAfterAlternating(changes);
  expect(channel.bufferedBytes).toBeGreaterThan(HIGH);
  changes.length = 0;
  const waiter = channel.waitWritable(10_000);
  let woke: boolean | null = null;
  void waiter.then((writable) => {
    woke = writable;
  });
  await sleep(100);
  expect(woke, 'a waiter must keep waiting while the peer reads nothing').toBeNull();
  expect(changes).toEqual([]);

  far.on('data', () => {});
  far.resume();

  expect(await waiter).toBe(true);
  expect(changes).toEqual([true]);
  expect(channel.isWritable()).toBe(true);
  expect(channel.bufferedBytes).toBeLessThanOrEqual(LOW);
});

test('a timed wait on an unwritable channel gives up with false', async () => {
  const { near, far } = await socketPair();
  far.pause();
  const channel = new Channel(near, { writeBufferHighWaterMark: HIGH, writeBufferLowWaterMark: LOW });
  await fillUntilUnwritable(channel);
  const started = performance.now();
  expect(await channel.waitWritable(150)).toBe(false);
  expect(performance.now() - started).toBeGreaterThanOrEqual(140);
});

test('calls toward an unwritable channel wait, adding nothing to its buffer, and resume once the peer reads', async () => {
  const { server, address } = await startServer({
    writeBufferHighWaterMark: HIGH,
    writeBufferLowWaterMark: LOW,
  });
  const client = await rawClient(Number(address.split(':')[1]));
  client.pause();
  await eventually(() => server.connections().length === 1, 5000, 'the server to adopt the connection');
  const channel = server.connections()[0] as Channel;
  const changes: boolean[] = [];
  channel.on('writabilityChanged', (writable) => changes.push(writable));

  // Oneway calls from the server to its client (brokers call clients too).
  const sent = await writeUntilStuck(channel, () =>
    server.invokeOneway(channel, RemotingCommand.createRequest(7).setBody(BIG_BODY), 5000),
  );
  expectStuckAfterAlternating(changes);
  changes.length = 0;
  const bufferedWhenTripped = channel.bufferedBytes;

  const WAITING = 5;
  let finished = 0;
  const waiting = Array.from({ length: WAITING }, () =>
    server.invokeOneway(channel, RemotingCommand.createRequest(7).setBody(BIG_BODY), 10_000).then(() => {
      finished += 1;
    }),
  );
  await sleep(150);
  expect(finished, 'calls must wait while the channel is unwritable').toBe(0);
  expect(channel.bufferedBytes).toBeLessThanOrEqual(bufferedWhenTripped);

  // The peer starts reading: count whole frames to be sure everything arrives.
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
  let received = 0;
  client.on('data', (chunk: Buffer) => {
    received += decoder.push(chunk).length;
  });
  client.resume();

  await Promise.all(waiting);
  expect(finished).toBe(WAITING);
  expect(changes[0]).toBe(true);
  await eventually(() => received === sent + WAITING, 10_000, 'every frame to reach the peer');
});

test('the server stops reading from a connection it cannot write to, and resumes once it can', async () => {
  const { server, address } = await startServer({
    writeBufferHighWaterMark: HIGH,
    writeBufferLowWaterMark: LOW,
  });
  const BIG_RESPONSE = 40;
  let processed = 0;
  server.registerProcessor(BIG_RESPONSE, {
    processRequest: () => {
      processed += 1;
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(BIG_BODY);
    },
  });
  const client = await rawClient(Number(address.split(':')[1]));
  client.pause();
  await eventually(() => server.connections().length === 1, 5000, 'the server to adopt the connection');
  const channel = server.connections()[0] as Channel;
  const changes: boolean[] = [];
  channel.on('writabilityChanged', (writable) => changes.push(writable));

  // Small requests for big responses, one at a time, until the server's buffer stays full.
  let sent = 0;
  const send = () => {
    client.write(RemotingCommand.createRequest(BIG_RESPONSE).encode());
    sent += 1;
  };
  await writeUntilStuck(channel, async () => {
    const before = processed;
    send();
    await eventually(() => processed > before, 5000, 'the request to be processed');
  });
  expectStuckAfterAlternating(changes);
  changes.length = 0;
  expect(channel.isReadPaused).toBe(true);
  expect(channel.socket.isPaused()).toBe(true);

  // More requests arrive; none may be read, let alone processed, while the channel is unwritable.
  const processedWhenPaused = processed;
  for (let i = 0; i < 20; i++) send();
  await sleep(200);
  expect(processed).toBe(processedWhenPaused);
  expect(channel.bufferedBytes).toBeLessThan(HIGH + 2 * BIG_BODY.length);

  const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
  let responses = 0;
  client.on('data', (chunk: Buffer) => {
    responses += decoder.push(chunk).length;
  });
  client.resume();

  await eventually(() => responses === sent, 15_000, `all ${sent} responses`);
  expect(processed).toBe(sent);
  expect(changes[0]).toBe(true);
  expect(channel.isWritable()).toBe(true);
  expect(channel.isReadPaused).toBe(false);
});

describe("a high watermark below the socket's own (16 KiB) buffer limit", () => {
  // socket.write() returns false, and 'drain' follows, only past the socket's
  // writableHighWaterMark (16 KiB); a channel mark below it must recover without 'drain'.
  const SMALL_HIGH = 4 * 1024;
  const SMALL_LOW = 2 * 1024;
  const body = Buffer.alloc(8 * 1024, 9);

  test('a channel that trips it recovers once the bytes are flushed', async () => {
    const { near, far } = await socketPair();
    far.on('data', () => {});
    const channel = new Channel(near, {
      writeBufferHighWaterMark: SMALL_HIGH,
      writeBufferLowWaterMark: SMALL_LOW,
    });
    expect(near.writableHighWaterMark).toBeGreaterThan(body.length + 512);
    const changes: boolean[] = [];
    channel.on('writabilityChanged', (writable) => changes.push(writable));

    channel.write(RemotingCommand.createRequest(1).setBody(body));

    expect(channel.isWritable()).toBe(false);
    expect(await channel.waitWritable(2000)).toBe(true);
    expect(changes).toEqual([false, true]);
  });

  test('a server answering with bigger responses keeps reading and answering', async () => {
    const { address } = await startEchoServer({
      writeBufferHighWaterMark: SMALL_HIGH,
      writeBufferLowWaterMark: SMALL_LOW,
    });
    const client = newClient();
    for (let i = 0; i < 5; i++) {
      const response = await client.invokeSync(
        address,
        RemotingCommand.createRequest(EchoCode.ECHO).setBody(body),
        2000,
      );
      expect(response.body?.length).toBe(body.length);
    }
  });
});

test('waitWritable wakes its waiters one at a time, in arrival order, each only while the channel is writable', async () => {
  const { near, far } = await socketPair();
  far.pause();
  const channel = new Channel(near, { writeBufferHighWaterMark: HIGH, writeBufferLowWaterMark: LOW });
  await fillUntilUnwritable(channel);
  const woken: Array<{ waiter: number; writable: boolean }> = [];
  const waiters = [1, 2, 3].map(async (waiter) => {
    expect(await channel.waitWritable(30_000)).toBe(true);
    woken.push({ waiter, writable: channel.isWritable() });
    // Each writes as much as the peer made room for and more: the channel is over its high mark again.
    channel.write(RemotingCommand.createRequest(1).setBody(BIG_BODY));
  });
  far.on('data', () => {});
  far.resume();
  await Promise.all(waiters);
  // Waking all three at once let the second and third write into a channel already over its mark.
  expect(woken).toEqual([
    { waiter: 1, writable: true },
    { waiter: 2, writable: true },
    { waiter: 3, writable: true },
  ]);
});
