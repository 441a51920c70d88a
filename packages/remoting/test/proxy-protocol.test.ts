/**
 * PROXY protocol v1 and v2 (HAProxy, cloud load balancers), as RocketMQ
 * 5.1.4+ servers accept it: the parser on Buffers alone (whole, split, one
 * byte at a time), then a server behind a pretend load balancer: the client's
 * real address is the channel's remote address everywhere, LOCAL and
 * UNKNOWN keep the socket's, and a bad header closes that one connection.
 */
import net from 'node:net';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { hasOpenssl, makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import {
  type Channel,
  FrameDecoder,
  RemotingCommand,
  RemotingProtocolError,
  type RemotingServerOptions,
  RemotingTimeoutError,
  ResponseCode,
} from '../src/index.js';
import {
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
  type ProxyParse,
  parseProxyHeader,
} from '../src/protocol/proxy-protocol.js';
import { EchoCode, echoResponse, eventually, newClient, onCleanup, startServer } from './helpers/servers.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: version/command byte, family/transport byte, then the address block and TLVs. */
function v2(command: number, family: number, block: Buffer, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(block.length + tlvs.length);
  return Buffer.concat([SIGNATURE, Buffer.from([0x20 | command, family]), length, block, tlvs]);
}

function inet(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(destinationPort, 2);
  return Buffer.concat([
    Buffer.from(source.split('.').map(Number)),
    Buffer.from(destination.split('.').map(Number)),
    ports,
  ]);
}

function tlv(type: number, value: string): Buffer {
  const head = Buffer.from([type, 0, 0]);
  head.writeUInt16BE(Buffer.byteLength(value), 1);
  return Buffer.concat([head, Buffer.from(value)]);
}

function headerOf(parse: ProxyParse) {
  if (parse.kind !== 'header') throw new Error(`expected a header, got ${parse.kind}`);
  return parse.header;
}

function parseError(bytes: Buffer): RemotingProtocolError {
  try {
    parseProxyHeader(bytes);
  } catch (error) {
    return error as RemotingProtocolError;
  }
  throw new Error('expected a protocol error');
}

describe('the parser (protocol layer, Buffers only)', () => {
  test('v1 TCP4 and TCP6: the client and the address it reached, and the bytes the header took', () => {
    const line = 'PROXY TCP4 203.0.113.7 198.51.100.1 56324 9876\r\n';
    const four = headerOf(parseProxyHeader(Buffer.from(`${line}rest`)));
    expect(four).toMatchObject({
      version: 1,
      command: 'PROXY',
      source: { address: '203.0.113.7', port: 56324 },
      destination: { address: '198.51.100.1', port: 9876 },
      byteLength: line.length,
    });
    const six = headerOf(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 443 9876\r\n')));
    expect(six.source).toEqual({ address: '2001:db8::7', port: 443 });
  });

  test('v1 fed one byte at a time is incomplete until its CRLF', () => {
    const bytes = Buffer.from('PROXY TCP4 203.0.113.7 198.51.100.1 56324 9876\r\n');
    for (let n = 0; n < bytes.length; n++)
      expect(parseProxyHeader(bytes.subarray(0, n)).kind).toBe('incomplete');
    expect(parseProxyHeader(bytes).kind).toBe('header');
  });

  test('v1 UNKNOWN is the proxy’s own connection: no addresses', () => {
    const header = headerOf(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')));
    expect(header).toMatchObject({ command: 'LOCAL', source: null, destination: null, byteLength: 15 });
    expect(headerOf(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'))).command).toBe(
      'LOCAL',
    );
  });

  test.each([
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', /family "TCP5"/],
    ['PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n', /address "1.2.3"/],
    ['PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n', /address "2001:db8::1"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', /port "01"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n', /port "65536"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /needs 6 fields/],
    ['PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n', /needs 6 fields/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /LF without CR/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', /CR not followed by LF/],
  ])('v1 %j is malformed', (text, message) => {
    const error = parseError(Buffer.from(text));
    expect(error).toBeInstanceOf(RemotingProtocolError);
    expect(error.message).toMatch(message);
  });

  test(`v1 longer than ${PROXY_V1_MAX_BYTES} bytes without a CRLF is refused`, () => {
    expect(parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(PROXY_V1_MAX_BYTES - 7)}`)).kind).toBe(
      'incomplete',
    );
    expect(parseError(Buffer.from(`PROXY ${'x'.repeat(PROXY_V1_MAX_BYTES)}`)).message).toMatch(
      /no CRLF within 107 bytes/,
    );
  });

  test('v2 PROXY over IPv4, with and without TLVs', () => {
    const plain = v2(1, 0x11, inet('203.0.113.7', '198.51.100.1', 56324, 9876));
    expect(headerOf(parseProxyHeader(plain))).toMatchObject({
      version: 2,
      command: 'PROXY',
      source: { address: '203.0.113.7', port: 56324 },
      destination: { address: '198.51.100.1', port: 9876 },
      tlvs: [],
      byteLength: 28,
    });
    const withTlvs = v2(
      1,
      0x11,
      inet('203.0.113.7', '198.51.100.1', 56324, 9876),
      Buffer.concat([tlv(0x05, 'unique-id'), tlv(0xea, 'vpce-0123')]),
    );
    const header = headerOf(parseProxyHeader(withTlvs));
    expect(header.tlvs.map((t) => [t.type, t.value.toString()])).toEqual([
      [0x05, 'unique-id'],
      [0xea, 'vpce-0123'],
    ]);
    expect(header.byteLength).toBe(withTlvs.length);
  });

  test('v2 over IPv6 prints addresses as Node does; v2 fed one byte at a time is incomplete until its last byte', () => {
    const block = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(block, 0);
    Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(block, 16);
    block.writeUInt16BE(443, 32);
    block.writeUInt16BE(9876, 34);
    const bytes = v2(1, 0x21, block);
    for (let n = 0; n < bytes.length; n++)
      expect(parseProxyHeader(bytes.subarray(0, n)).kind).toBe('incomplete');
    const header = headerOf(parseProxyHeader(bytes));
    expect(header.source).toEqual({ address: '2001:db8::7', port: 443 });
    expect(header.destination).toEqual({ address: '::ffff:192.0.2.1', port: 9876 });
  });

  test('v2 LOCAL (a health check) and UNSPEC name no address', () => {
    expect(headerOf(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))))).toMatchObject({
      command: 'LOCAL',
      source: null,
    });
    expect(headerOf(parseProxyHeader(v2(1, 0x00, Buffer.alloc(0))))).toMatchObject({
      command: 'PROXY',
      source: null,
    });
  });

  test('v2 malformed or oversized headers are protocol errors', () => {
    const good = v2(1, 0x11, inet('1.2.3.4', '5.6.7.8', 1, 2));
    const badVersion = Buffer.from(good);
    badVersion[12] = 0x11;
    expect(parseError(badVersion).message).toMatch(/version 1, not 2/);
    const badCommand = Buffer.from(good);
    badCommand[12] = 0x22;
    expect(parseError(badCommand).message).toMatch(/command 2/);
    expect(parseError(v2(1, 0x11, Buffer.alloc(4))).message).toMatch(/cannot hold its 12-byte address block/);
    const overrun = v2(1, 0x11, inet('1.2.3.4', '5.6.7.8', 1, 2), Buffer.from([0x05, 0x00, 0x09, 0x41]));
    expect(parseError(overrun).message).toMatch(/TLV of type 0x5 runs past the header/);
    const huge = Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    expect(parseError(huge).message).toMatch(
      new RegExp(`announces 65551 bytes; at most ${PROXY_V2_MAX_BYTES}`),
    );
  });

  test('a remoting frame or another protocol is no header at all', () => {
    expect(parseProxyHeader(RemotingCommand.createRequest(1).encode()).kind).toBe('absent');
    expect(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind).toBe('absent');
    expect(parseProxyHeader(Buffer.from('PRI * HTTP/2.0')).kind).toBe('absent');
  });
});

/** A raw connection that speaks remoting frames after whatever preamble a test writes. */
async function rawConnect(address: string): Promise<net.Socket> {
  const [host, port] = address.split(':') as [string, string];
  const socket = net.connect({ host, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  onCleanup(() => {
    socket.destroy();
  });
  return socket;
}

/** Sends `request` on `stream` and resolves with the first command that comes back. */
function callOver(stream: net.Socket | tls.TLSSocket, request: RemotingCommand): Promise<RemotingCommand> {
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      const [first] = decoder.push(chunk);
      if (first !== undefined) resolve(first);
    });
    stream.once('close', () => reject(new Error('closed before an answer')));
    stream.write(request.encode());
  });
}

/** A server behind a pretend load balancer, recording what it is told about each peer. */
async function proxiedServer(options: RemotingServerOptions) {
  const seen = { processor: [] as string[], hook: [] as string[], connect: [] as string[] };
  const channels: Channel[] = [];
  const { server, address } = await startServer({
    ...options,
    rpcHooks: [{ doBeforeRequest: (remote) => seen.hook.push(remote) }],
  });
  server.registerProcessor(EchoCode.ECHO, {
    processRequest: (ctx, request) => {
      seen.processor.push(ctx.remoteAddress);
      channels.push(ctx.channel);
      return echoResponse(request);
    },
  });
  server.on('connect', (remote) => seen.connect.push(remote));
  const exceptions: Array<[string, Error]> = [];
  server.on('exception', (remote, _channel, error) => exceptions.push([remote, error]));
  return { server, address, seen, channels, exceptions };
}

describe('a server behind a load balancer', () => {
  test('v1, split over three writes: the processor, hooks and events see the client behind the proxy; errors name it', async () => {
    const { server, address, seen, channels } = await proxiedServer({ proxyProtocol: 'optional' });
    const socket = await rawConnect(address);
    const header = 'PROXY TCP4 203.0.113.7 198.51.100.1 56324 9876\r\n';
    for (const part of [header.slice(0, 5), header.slice(5, 20), header.slice(20)]) {
      socket.write(part);
      await nextMacrotask();
    }
    const response = await callOver(socket, RemotingCommand.createRequest(EchoCode.ECHO));
    expect(response.code).toBe(ResponseCode.SUCCESS);
    expect(seen.processor).toEqual(['203.0.113.7:56324']);
    expect(seen.hook).toEqual(['203.0.113.7:56324']);
    await eventually(() => seen.connect.length === 1, 3000, 'the connect event');
    expect(seen.connect).toEqual(['203.0.113.7:56324']);
    expect(server.connections().map((c) => c.remoteAddress)).toEqual(['203.0.113.7:56324']);
    // A call the server makes back over that channel names the same client when it fails.
    const error = await server
      .invokeSync(channels[0] as Channel, RemotingCommand.createRequest(77), 100)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemotingTimeoutError);
    expect((error as Error).message).toMatch(/^call to 203\.0\.113\.7:56324 /);
  });

  test('v2 with TLVs: the client behind the proxy', async () => {
    const { address, seen } = await proxiedServer({ proxyProtocol: 'required' });
    const socket = await rawConnect(address);
    socket.write(
      v2(1, 0x11, inet('203.0.113.9', '198.51.100.1', 40000, 9876), tlv(0xea, 'vpce-0123456789abcdef0')),
    );
    expect((await callOver(socket, RemotingCommand.createRequest(EchoCode.ECHO))).code).toBe(0);
    expect(seen.processor).toEqual(['203.0.113.9:40000']);
  });

  test('PROXY UNKNOWN and v2 LOCAL keep the socket’s own address', async () => {
    const { address, seen } = await proxiedServer({ proxyProtocol: 'required' });
    const unknown = await rawConnect(address);
    unknown.write('PROXY UNKNOWN\r\n');
    expect((await callOver(unknown, RemotingCommand.createRequest(EchoCode.ECHO))).code).toBe(0);
    const local = await rawConnect(address);
    local.write(v2(0, 0x00, Buffer.alloc(0)));
    expect((await callOver(local, RemotingCommand.createRequest(EchoCode.ECHO))).code).toBe(0);
    expect(seen.processor).toEqual([`127.0.0.1:${unknown.localPort}`, `127.0.0.1:${local.localPort}`]);
  });

  test('optional: a client without a header is served as itself', async () => {
    const { address, seen } = await proxiedServer({ proxyProtocol: 'optional' });
    const client = newClient();
    expect((await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)).code).toBe(
      0,
    );
    expect(seen.processor[0]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('required: a connection without a header is refused with a protocol error that says so', async () => {
    const { address, exceptions, seen } = await proxiedServer({ proxyProtocol: 'required' });
    const client = newClient();
    const error = await client
      .invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    await eventually(() => exceptions.length === 1, 3000, 'the exception event');
    expect(exceptions[0]?.[1]).toBeInstanceOf(RemotingProtocolError);
    expect(exceptions[0]?.[1].message).toMatch(/requires a PROXY protocol header first/);
    expect(seen.processor).toEqual([]);
  });

  test('a malformed or oversized header closes that connection only; the server serves the next one', async () => {
    const { address, exceptions, seen } = await proxiedServer({ proxyProtocol: 'optional' });
    const bad = await rawConnect(address);
    const badClosed = new Promise((resolve) => bad.once('close', resolve));
    bad.write('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n');
    await badClosed;
    const long = await rawConnect(address);
    const longClosed = new Promise((resolve) => long.once('close', resolve));
    long.write(`PROXY TCP4 ${'9'.repeat(120)}`);
    await longClosed;
    await eventually(() => exceptions.length === 2, 3000, 'two exception events');
    expect(exceptions.map(([, e]) => e.message)).toEqual([
      expect.stringMatching(/port "01"/),
      expect.stringMatching(/no CRLF within 107 bytes/),
    ]);
    const good = await rawConnect(address);
    good.write('PROXY TCP4 203.0.113.7 198.51.100.1 56324 9876\r\n');
    expect((await callOver(good, RemotingCommand.createRequest(EchoCode.ECHO))).code).toBe(0);
    expect(seen.processor).toEqual(['203.0.113.7:56324']);
  });

  const opensslPresent = hasOpenssl();
  if (!opensslPresent)
    console.warn('proxy-protocol.test.ts TLS cases skipped: the openssl CLI is not installed');

  test.skipIf(!opensslPresent).each(['permissive', 'enforcing'] as const)(
    'TLS %s: the PROXY header comes before the ClientHello',
    async (mode) => {
      const { key, cert } = makeSelfSignedCertificate();
      const { address, seen } = await proxiedServer({ proxyProtocol: 'required', tls: { mode, key, cert } });
      const socket = await rawConnect(address);
      socket.write('PROXY TCP6 2001:db8::7 2001:db8::1 443 9876\r\n');
      const secure = tls.connect({ socket, rejectUnauthorized: false });
      onCleanup(() => {
        secure.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      expect((await callOver(secure, RemotingCommand.createRequest(EchoCode.ECHO))).code).toBe(0);
      expect(seen.processor).toEqual(['[2001:db8::7]:443']);
    },
  );
});
