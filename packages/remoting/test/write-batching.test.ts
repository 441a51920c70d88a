/**
 * The write path: responses produced in the same tick leave in one writev
 * (cork per tick), a lone call is flushed on the very next tick instead of
 * waiting for company (the Nagle trap), and a body reaches the socket as the
 * caller's own Buffer, never copied into a joined frame.
 *
 * Syscalls are counted by wrapping the server-side socket's `_writev` and
 * `_write`: each call is one hand-off to libuv, i.e. one write(v) syscall.
 */
import net, { type Socket } from 'node:net';
import { expect, test } from 'vitest';
import { FrameDecoder, RemotingCommand, ResponseCode, SerializeType } from '../src/index.js';
import { Channel } from '../src/transport/channel.js';
import {
  EchoCode,
  eventually,
  newClient,
  onCleanup,
  startEchoServer,
  startServer,
} from './helpers/servers.js';

type WriteCallback = (error?: Error | null) => void;
interface StreamInternals {
  _write(chunk: Buffer, encoding: BufferEncoding, callback: WriteCallback): void;
  _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: WriteCallback): void;
}

/** Counts the socket's hand-offs to libuv and remembers every buffer handed over. */
function spyOnSocketWrites(socket: Socket) {
  const stats = { syscalls: 0, buffers: [] as Buffer[] };
  const internals = socket as unknown as StreamInternals;
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (chunk, encoding, callback) => {
    stats.syscalls += 1;
    stats.buffers.push(chunk);
    write(chunk, encoding, callback);
  };
  internals._writev = (chunks, callback) => {
    stats.syscalls += 1;
    for (const { chunk } of chunks) stats.buffers.push(chunk);
    writev(chunks, callback);
  };
  return stats;
}

/** The server's only connection, once the client has made its first call. */
function onlyChannel(channels: Channel[]): Channel {
  expect(channels).toHaveLength(1);
  return channels[0] as Channel;
}

/** Frames in a run of bytes: walks the length prefixes. */
function countFrames(buffers: Buffer[]): number {
  const bytes = Buffer.concat(buffers);
  let frames = 0;
  for (let pos = 0; pos + 4 <= bytes.length; pos += 4 + bytes.readInt32BE(pos)) frames += 1;
  return frames;
}

test('a burst of 1000 async calls is answered in far fewer socket writes than frames', async () => {
  const { server, address } = await startEchoServer();
  const client = newClient();
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const stats = spyOnSocketWrites(onlyChannel(server.connections()).socket);

  const CALLS = 1000;
  const responses = await Promise.all(
    Array.from({ length: CALLS }, (_, i) =>
      client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO).setBody(`call ${i}`), 10_000),
    ),
  );

  expect(responses.map((response) => response.body?.toString())).toEqual(
    Array.from({ length: CALLS }, (_, i) => `call ${i}`),
  );
  const frames = countFrames(stats.buffers);
  expect(frames).toBe(CALLS);
  console.info(
    `write batching: ${frames} response frames in ${stats.syscalls} socket writes ` +
      `(${(frames / stats.syscalls).toFixed(1)} frames per syscall)`,
  );
  // One write per frame (or two, head and body) is what an unbatched path does.
  // The burst arrives in a handful of reads, and each read's responses leave together.
  expect(stats.syscalls).toBeLessThanOrEqual(CALLS / 20);
});

/** Resolves in the event loop's next check phase: after every nextTick and microtask queued now, before any timer. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('a lone sync call is not held back waiting for company: request and response each reach their socket before the event loop turns', async () => {
  // Waiting for company would mean a timer (or Nagle's delayed ACK, 40 ms): then the
  // write would not have reached the socket by the next check phase. Asked that way,
  // the answer does not depend on how busy the machine is.
  const LONE = 41;
  const { server, address } = await startServer();
  let serverWrites: ReturnType<typeof spyOnSocketWrites> | undefined;
  const responseFlushedBeforeNextTurn: boolean[] = [];
  server.registerProcessor(LONE, {
    processRequest: (_ctx, request) => {
      const spy = serverWrites;
      if (spy !== undefined) {
        const before = spy.syscalls;
        setImmediate(() => responseFlushedBeforeNextTurn.push(spy.syscalls > before));
      }
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(request.body);
    },
  });
  const client = newClient();
  let clientChannel: Channel | undefined;
  client.on('connect', (_remote, channel) => {
    clientChannel = channel;
  });
  const request = () => RemotingCommand.createRequest(LONE).setBody('ping');
  await client.invokeSync(address, request(), 60_000);
  serverWrites = spyOnSocketWrites(onlyChannel(server.connections()).socket);
  const clientWrites = spyOnSocketWrites((clientChannel as Channel).socket);

  const roundTripsMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = clientWrites.syscalls;
    const started = performance.now();
    const call = client.invokeSync(address, request(), 60_000);
    await nextTurn();
    expect(clientWrites.syscalls, `request ${i} still held at the next turn`).toBe(before + 1);
    const response = await call;
    roundTripsMs.push(performance.now() - started);
    expect(response.code).toBe(ResponseCode.SUCCESS);
  }
  await eventually(() => responseFlushedBeforeNextTurn.length === 5, 30_000, 'the server checks');
  expect(responseFlushedBeforeNextTurn).toEqual([true, true, true, true, true]);
  console.info(`lone sync round trips: ${roundTripsMs.map((ms) => ms.toFixed(2)).join(', ')} ms`);
});

test('a lone frame written on a channel reaches the socket before the event loop turns', async () => {
  const { channel, received } = await channelPair();
  const stats = spyOnSocketWrites(channel.socket);
  channel.write(RemotingCommand.createRequest(1).setBody('alone'));
  expect(stats.syscalls, 'not within the same tick: that is what batches a tick').toBe(0);
  await nextTurn();
  expect(stats.syscalls).toBe(1);
  await eventually(() => received.length === 1, 30_000, 'the frame at the far end');
  expect(received[0]?.body?.toString()).toBe('alone');
});

test('a body is handed to the socket as the same Buffer, never copied into a joined frame', async () => {
  const { server, address } = await startEchoServer();
  const body = Buffer.alloc(256 * 1024, 7);
  const CODE = 40;
  server.registerProcessor(CODE, {
    processRequest: () => RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(body),
  });
  const client = newClient();
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const socket = onlyChannel(server.connections()).socket;
  const passedToWrite: unknown[] = [];
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
    passedToWrite.push(args[0]);
    return write(...args);
  };
  const stats = spyOnSocketWrites(socket);

  const response = await client.invokeSync(address, RemotingCommand.createRequest(CODE), 3000);

  expect(response.body?.equals(body)).toBe(true);
  expect(passedToWrite.filter((chunk) => chunk === body)).toHaveLength(1);
  // ... and the stream passes that very object on to libuv.
  expect(stats.buffers.filter((chunk) => chunk === body)).toHaveLength(1);
  expect(stats.buffers.some((chunk) => chunk.length > body.length)).toBe(false);
});

/** A Channel over one end of a loopback connection, and a decoder reading the other end. */
async function channelPair(): Promise<{ channel: Channel; received: RemotingCommand[]; far: Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const far = net.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port });
  await new Promise<void>((resolve) => far.once('connect', () => resolve()));
  const near = await accepted;
  listener.close();
  onCleanup(() => {
    near.destroy();
    far.destroy();
  });
  const decoder = new FrameDecoder();
  const received: RemotingCommand[] = [];
  far.on('data', (chunk: Buffer) => decoder.pushTo(chunk, received));
  return { channel: new Channel(near), received, far };
}

test('a tick of small frames reaches the socket as one buffer in one write, each callback called once', async () => {
  const { channel, received } = await channelPair();
  const stats = spyOnSocketWrites(channel.socket);
  const callbacks: Array<Error | null> = [];
  const FRAMES = 50;
  for (let i = 0; i < FRAMES; i++) {
    const cmd = RemotingCommand.createRequest(i).setBody(`body ${i}`);
    cmd.serializeType = i % 2 === 0 ? SerializeType.JSON : SerializeType.ROCKETMQ;
    channel.write(cmd, (error) => callbacks.push(error));
  }
  // Nothing leaves before the tick ends: the frames are waiting in one buffer.
  expect(stats.syscalls).toBe(0);
  expect(channel.bufferedBytes).toBeGreaterThan(FRAMES * 8);
  await eventually(() => received.length === FRAMES, 3000, 'every frame at the far end');
  expect(stats.syscalls).toBe(1);
  expect(stats.buffers).toHaveLength(1);
  expect(countFrames(stats.buffers)).toBe(FRAMES);
  expect(received.map((c) => [c.code, c.body?.toString()])).toEqual(
    Array.from({ length: FRAMES }, (_, i) => [i, `body ${i}`]),
  );
  expect(callbacks).toEqual(Array.from({ length: FRAMES }, () => null));
});

test('a body above the inline limit goes to the socket as itself, between the packed headers', async () => {
  const { channel, received } = await channelPair();
  const stats = spyOnSocketWrites(channel.socket);
  const big = Buffer.alloc(64 * 1024, 9);
  channel.write(RemotingCommand.createRequest(1).setBody('small'));
  channel.write(RemotingCommand.createRequest(2).setBody(big));
  channel.write(RemotingCommand.createRequest(3).setBody('small again'));
  await eventually(() => received.length === 3, 3000, 'three frames');
  expect(received.map((c) => c.code)).toEqual([1, 2, 3]);
  expect(received[1]!.body?.equals(big)).toBe(true);
  // One writev: [frame 1 + head 2], [big], [frame 3].
  expect(stats.syscalls).toBe(1);
  expect(stats.buffers).toHaveLength(3);
  expect(stats.buffers[1]).toBe(big);
});

test('frames written to a channel that closes before its tick ends are failed, not lost silently', async () => {
  const { channel } = await channelPair();
  const outcomes: Array<Error | null> = [];
  channel.write(RemotingCommand.createRequest(1), (error) => outcomes.push(error));
  channel.write(RemotingCommand.createRequest(2), (error) => outcomes.push(error));
  channel.destroy();
  await eventually(() => outcomes.length === 2, 3000, 'both callbacks');
  for (const error of outcomes) expect(error).toBeInstanceOf(Error);
  // Once closed, a write fails at once with the channel's own error.
  const late = await new Promise<Error | null>((resolve) =>
    channel.write(RemotingCommand.createRequest(3), resolve),
  );
  expect((late as Error & { code: string }).code).toBe('REMOTING_CHANNEL_CLOSED');
});

test('frames written in the tick a channel is closed gracefully still leave, before the close', async () => {
  const { channel, received, far } = await channelPair();
  const outcomes: Array<Error | null> = [];
  channel.write(RemotingCommand.createRequest(1).setBody('last words'), (error) => outcomes.push(error));
  channel.close();
  await new Promise<void>((resolve) => far.once('end', () => resolve()));
  expect(received.map((c) => c.body?.toString())).toEqual(['last words']);
  await eventually(() => outcomes.length === 1, 3000, 'the callback');
  expect(outcomes).toEqual([null]);
});
