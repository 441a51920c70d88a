/**
 * The write path: responses produced in the same tick leave in one writev
 * (cork per tick), a lone call is flushed on the very next tick instead of
 * waiting for company (the Nagle trap), and a body reaches the socket as the
 * caller's own Buffer, never copied into a joined frame.
 *
 * Syscalls are counted by wrapping the server-side socket's `_writev` and
 * `_write`: each call is one hand-off to libuv, i.e. one write(v) syscall.
 */
import type { Socket } from 'node:net';
import { expect, test } from 'vitest';
import { type Channel, RemotingCommand, ResponseCode } from '../src/index.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

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

test('a lone sync call is not held back waiting for company', async () => {
  const { address } = await startEchoServer();
  const client = newClient();
  const request = () => RemotingCommand.createRequest(EchoCode.ECHO).setBody('ping');
  for (let i = 0; i < 5; i++) await client.invokeSync(address, request(), 3000);

  const roundTripsMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const response = await client.invokeSync(address, request(), 3000);
    roundTripsMs.push(performance.now() - started);
    expect(response.code).toBe(ResponseCode.SUCCESS);
  }
  roundTripsMs.sort((a, b) => a - b);
  const median = roundTripsMs[10] as number;
  console.info(
    `lone sync round trip: median ${median.toFixed(2)} ms, max ${roundTripsMs[19]?.toFixed(2)} ms`,
  );
  // Loopback round trips take well under a millisecond; a write held for a
  // timer or for delayed-ACK/Nagle costs 40 ms. 20 ms leaves room for a loaded 2-core box.
  expect(median).toBeLessThan(20);
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
