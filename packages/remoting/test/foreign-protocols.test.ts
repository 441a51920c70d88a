/**
 * Another protocol on a remoting port is named, not reported as a giant
 * frame: the first bytes are recognised by protocol/foreign-protocol.ts
 * (tested with Buffers, whole and one byte at a time), and both sides close
 * that one connection with a RemotingProtocolError saying who is there.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import {
  FrameDecoder,
  RemotingCommand,
  RemotingProtocolError,
  RemotingSendRequestError,
} from '../src/index.js';
import { type ForeignProtocol, recognizeForeignProtocol } from '../src/protocol/foreign-protocol.js';
import { EchoCode, eventually, newClient, onCleanup, startEchoServer } from './helpers/servers.js';

const samples: Array<[name: string, bytes: Buffer, protocol: ForeignProtocol, message: RegExp]> = [
  [
    'HTTP/2 preface (gRPC)',
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    'http2',
    /^an HTTP\/2 \(gRPC\?\) client connected to a remoting port/,
  ],
  ...['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map(
    (method): [string, Buffer, ForeignProtocol, RegExp] => [
      `HTTP/1 ${method}`,
      Buffer.from(`${method} /topics HTTP/1.1\r\nHost: x\r\n\r\n`),
      'http1-request',
      new RegExp(`^an HTTP/1 client connected to a remoting port: it sent "${method} `),
    ],
  ),
  [
    'HTTP/1 status line',
    Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'),
    'http1-response',
    /^the peer is an HTTP server, not a remoting server: it answered "HTTP\/1.1 400 Bad Request"/,
  ],
  [
    'TLS ClientHello',
    Buffer.from('16030100f8010000f40303', 'hex'),
    'tls-handshake',
    /^a TLS client connected to a plaintext remoting connection/,
  ],
  [
    'TLS alert',
    Buffer.from('15030300020228', 'hex'),
    'tls-record',
    /^the peer speaks TLS: it sent a TLS alert/,
  ],
  [
    'PROXY v1',
    Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 5555 9876\r\n'),
    'proxy-v1',
    /^a PROXY protocol v1 header arrived .* but this side does not expect one/,
  ],
  [
    'PROXY v2',
    Buffer.from('0d0a0d0a000d0a515549540a211100', 'hex'),
    'proxy-v2',
    /^a PROXY protocol v2 header arrived but this side does not expect one/,
  ],
];

describe('recognizing the first bytes (protocol layer, Buffers only)', () => {
  test.each(samples)('%s is named from its first bytes', (_name, bytes, protocol, message) => {
    const match = recognizeForeignProtocol(bytes);
    expect(match?.protocol).toBe(protocol);
    expect(match?.description).toMatch(message);
    // Four bytes, a frame's length field, are enough.
    expect(recognizeForeignProtocol(bytes.subarray(0, 4))?.protocol).toBe(protocol);
  });

  test.each(samples)('a FrameDecoder fed %s one byte at a time fails naming it', (_name, bytes, protocol) => {
    const decoder = new FrameDecoder();
    let error: unknown = null;
    let fed = 0;
    for (const byte of bytes) {
      fed += 1;
      try {
        decoder.push(Buffer.from([byte]));
      } catch (thrown) {
        error = thrown;
        break;
      }
    }
    expect(fed).toBe(4);
    expect(error).toBeInstanceOf(RemotingProtocolError);
    expect(error).toMatchObject({ foreignProtocol: protocol, streamOffset: 0 });
    // Named from the four bytes that had come: a request line is cut short ("GET …").
    const fromFour = recognizeForeignProtocol(bytes.subarray(0, 4))?.description as string;
    expect((error as Error).message.startsWith(fromFour)).toBe(true);
  });

  test.each(samples)('a FrameDecoder fed %s whole fails naming it', (_name, bytes, protocol, message) => {
    const error = (() => {
      try {
        new FrameDecoder().push(bytes);
      } catch (thrown) {
        return thrown;
      }
      return null;
    })();
    expect(error).toMatchObject({ foreignProtocol: protocol });
    expect((error as Error).message).toMatch(message);
  });

  test('remoting frames, random lengths and short inputs are nobody else’s', () => {
    expect(recognizeForeignProtocol(RemotingCommand.createRequest(1).encode())).toBeNull();
    expect(recognizeForeignProtocol(Buffer.from('ff000000', 'hex'))).toBeNull();
    expect(recognizeForeignProtocol(Buffer.from('GET'))).toBeNull();
  });

  test('only the first frame of a stream is checked: later garbage is the usual length error', () => {
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    decoder.pushTo(RemotingCommand.createRequest(1).encode(), out);
    expect(out).toHaveLength(1);
    const error = (() => {
      try {
        decoder.push(Buffer.from('GET / HTTP/1.1\r\n'));
      } catch (thrown) {
        return thrown as RemotingProtocolError;
      }
      return null;
    })();
    expect(error?.foreignProtocol).toBeUndefined();
    expect(error?.message).toMatch(/exceeds the maximum frame size/);
  });
});

describe('a server names who connected, closes that connection and serves everyone else', () => {
  async function exceptionFrom(connect: (port: number) => void): Promise<RemotingProtocolError> {
    const { server, address } = await startEchoServer();
    const exceptions: Error[] = [];
    server.on('exception', (_remote, _channel, error) => exceptions.push(error));
    const bystander = newClient();
    await bystander.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    connect(server.address().port);
    await eventually(() => exceptions.length > 0, 5000, 'the exception event');
    expect(
      (await bystander.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)).code,
    ).toBe(0);
    await eventually(() => server.connections().length === 1, 5000, 'the foreign connection to close');
    return exceptions[0] as RemotingProtocolError;
  }

  test('an HTTP/2 (gRPC) client', async () => {
    const error = await exceptionFrom((port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => {});
      onCleanup(() => {
        session.destroy();
      });
    });
    expect(error).toBeInstanceOf(RemotingProtocolError);
    expect(error.foreignProtocol).toBe('http2');
    expect(error.message).toMatch(/^an HTTP\/2 \(gRPC\?\) client connected to a remoting port/);
  });

  test('an HTTP/1 client', async () => {
    const error = await exceptionFrom((port) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/status' });
      request.on('error', () => {});
    });
    expect(error.foreignProtocol).toBe('http1-request');
    expect(error.message).toMatch(/it sent "GET \/status HTTP\/1.1"/);
  });

  test('a TLS client at a plaintext-only server', async () => {
    const error = await exceptionFrom((port) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      socket.on('error', () => {});
      onCleanup(() => {
        socket.destroy();
      });
    });
    expect(error.foreignProtocol).toBe('tls-handshake');
  });

  test('a PROXY header while proxy protocol is off', async () => {
    const error = await exceptionFrom((port) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write('PROXY TCP4 203.0.113.7 127.0.0.1 5555 9876\r\n');
      });
      socket.on('error', () => {});
      onCleanup(() => {
        socket.destroy();
      });
    });
    expect(error.foreignProtocol).toBe('proxy-v1');
    expect(error.message).toMatch(/see the server's proxyProtocol option/);
  });
});

describe('a client names the server it reached', () => {
  test('an HTTP server: the call fails saying so, the protocol error as its cause', async () => {
    const httpServer = http.createServer((_request, response) => response.end('hello'));
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => httpServer.close(() => resolve())));
    httpServer.on('clientError', (_error, socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const client = newClient();
    const exceptions: Error[] = [];
    client.on('exception', (_remote, _channel, error) => exceptions.push(error));
    const address = `127.0.0.1:${(httpServer.address() as net.AddressInfo).port}`;
    const error = (await client
      .invokeSync(address, RemotingCommand.createRequest(1), 3000)
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RemotingSendRequestError);
    expect(error.message).toMatch(
      /the peer is an HTTP server, not a remoting server: it answered "HTTP\/1.1 400/,
    );
    expect(error.cause).toBeInstanceOf(RemotingProtocolError);
    expect((error.cause as RemotingProtocolError).foreignProtocol).toBe('http1-response');
    await eventually(() => exceptions.length === 1, 3000, 'the exception event');
  });

  test('a TLS server that answers a plain client with an alert', async () => {
    const alertServer = net.createServer((socket) => {
      socket.once('data', () => socket.end(Buffer.from('15030300020246', 'hex')));
    });
    await new Promise<void>((resolve) => alertServer.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => alertServer.close(() => resolve())));
    const client = newClient();
    const address = `127.0.0.1:${(alertServer.address() as net.AddressInfo).port}`;
    const error = (await client
      .invokeSync(address, RemotingCommand.createRequest(1), 3000)
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/the peer speaks TLS: it sent a TLS alert/);
    expect((error.cause as RemotingProtocolError).foreignProtocol).toBe('tls-record');
  });
});
