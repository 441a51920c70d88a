/**
 * A client that sends bytes that are not a frame loses its own connection and
 * nothing else: the server reports an 'exception' for it and closes it, while
 * another client's calls keep succeeding on the connection it already had.
 * (Decoding each kind of garbage is covered byte by byte in malformed-frames.test.ts.)
 */
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import {
  type Channel,
  FrameDecoder,
  RemotingCommand,
  RemotingProtocolError,
  type RemotingServer,
  SerializeType,
} from '../src/index.js';
import { EchoCode, eventually, newClient, onCleanup, startEchoServer } from './helpers/servers.js';

/** A frame around `header` whose length fields are consistent, with the serialize type given. */
function frameAround(serializeType: number, header: Buffer): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length, 0);
  prefix.writeUInt32BE(((serializeType << 24) | header.length) >>> 0, 4);
  return Buffer.concat([prefix, header]);
}

const validHeader = RemotingCommand.createRequest(EchoCode.ECHO).encodeHeaderBytes(SerializeType.JSON);

const GARBAGE: Array<[name: string, bytes: Buffer]> = [
  ['a negative length', Buffer.from('ffffffff00000000', 'hex')],
  ['a length above the 16 MiB maximum', Buffer.from('7fffffff00000000', 'hex')],
  ['a length below 4', Buffer.from('0000000200000000', 'hex')],
  ['an unknown serialize type', frameAround(5, validHeader)],
  ['a header that is not JSON', frameAround(SerializeType.JSON, Buffer.from('{"code":1,"opaque":', 'utf8'))],
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')],
];

interface Raw {
  socket: net.Socket;
  localAddress: string;
  closed: Promise<void>;
  responses: RemotingCommand[];
}

async function rawClient(port: number): Promise<Raw> {
  const socket = net.connect({ host: '127.0.0.1', port });
  onCleanup(() => {
    socket.destroy();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const decoder = new FrameDecoder();
  const responses: RemotingCommand[] = [];
  socket.on('data', (chunk: Buffer) => responses.push(...decoder.push(chunk)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, localAddress: `127.0.0.1:${socket.localPort}`, closed, responses };
}

/** Resolves with the first 'exception' the server reports for `remote`. */
function nextException(
  server: RemotingServer,
  remote: string,
): Promise<{ channel: Channel | null; error: Error }> {
  return new Promise((resolve) => {
    const listener = (address: string, channel: Channel | null, error: Error) => {
      if (address !== remote) return;
      server.off('exception', listener);
      resolve({ channel, error });
    };
    server.on('exception', listener);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

describe('a malformed frame closes only the connection that sent it', () => {
  test.each(GARBAGE)('%s', async (_name, garbage) => {
    const { server, address } = await startEchoServer();
    const port = Number(address.split(':')[1]);
    const good = newClient();
    const echo = (text: string) =>
      good.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO).setBody(text), 3000);
    expect((await echo('before')).body?.toString()).toBe('before');
    const connects: string[] = [];
    server.on('connect', (remote) => connects.push(remote));
    const goodChannels = server.connections();
    expect(goodChannels).toHaveLength(1);

    const bad = await rawClient(port);
    const exception = nextException(server, bad.localAddress);
    bad.socket.write(garbage);

    const { channel, error } = await withTimeout(exception, 30_000, "the server's 'exception' event");
    expect(error).toBeInstanceOf(RemotingProtocolError);
    expect((error as RemotingProtocolError).code).toBe('REMOTING_PROTOCOL');
    expect(channel?.remoteAddress).toBe(bad.localAddress);
    await withTimeout(bad.closed, 30_000, 'the bad connection to close');
    expect(bad.responses).toEqual([]);

    // The good client is still on the connection it had: no reconnect, same server channel.
    for (let i = 0; i < 10; i++) expect((await echo(`after ${i}`)).body?.toString()).toBe(`after ${i}`);
    expect(server.connections()).toEqual(goodChannels);
    expect((goodChannels[0] as Channel).isClosed).toBe(false);
    expect(connects).toEqual([bad.localAddress]);
  });

  test('requests decoded before the garbage in the same read still reach their processor', async () => {
    const { server, address } = await startEchoServer();
    const RECORD = 70;
    const seen: string[] = [];
    server.registerProcessor(RECORD, {
      processRequest: (_ctx, request) => {
        seen.push(request.body?.toString() ?? '');
        return null;
      },
    });
    const bad = await rawClient(Number(address.split(':')[1]));
    const exception = nextException(server, bad.localAddress);
    const first = RemotingCommand.createRequest(RECORD).setBody('first');
    const second = RemotingCommand.createRequest(RECORD).setBody('second');
    bad.socket.write(Buffer.concat([first.encode(), second.encode(), frameAround(9, validHeader)]));

    await withTimeout(exception, 30_000, "the server's 'exception' event");
    await withTimeout(bad.closed, 30_000, 'the bad connection to close');
    await eventually(() => seen.length === 2, 2000, 'both requests to be processed');
    expect(seen).toEqual(['first', 'second']);
  });
});
