/**
 * A server's TLS handshakes: one that fails is reported to every listener
 * (EventEmitter and ChannelEventListener alike) naming the peer's host:port,
 * and one still in progress when the server shuts down never becomes a
 * channel nobody would close.
 */
import net from 'node:net';
import tls from 'node:tls';
import { expect, test } from 'vitest';
import { hasOpenssl, makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import { eventually, onCleanup, startEchoServer } from './helpers/servers.js';

const opensslPresent = hasOpenssl();
if (!opensslPresent) console.warn('tls-handshakes.test.ts skipped: the openssl CLI is not installed');

test.skipIf(!opensslPresent)(
  'a failed handshake reaches the ChannelEventListener too, naming host:port',
  async () => {
    const { key, cert } = makeSelfSignedCertificate();
    const heard: string[] = [];
    const { server, address } = await startEchoServer({
      tls: { mode: 'enforcing', key, cert, maxVersion: 'TLSv1.2' },
      channelEventListener: {
        onChannelException: (remote, channel, error) =>
          heard.push(`listener ${remote} ${channel === null} ${error.message.length > 0}`),
      },
    });
    server.on('exception', (remote, channel) => heard.push(`emitter ${remote} ${channel === null}`));
    const [host, port] = address.split(':') as [string, string];
    // A client that speaks TLS 1.3 only cannot agree with a server capped at 1.2.
    const client = tls.connect({
      host,
      port: Number(port),
      minVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    });
    client.on('error', () => {});
    onCleanup(() => {
      client.destroy();
    });
    const clientPort = await new Promise<number>((resolve) =>
      client.once('connect', () => resolve(client.localPort as number)),
    );
    await eventually(() => heard.length === 2, 5000, 'both listeners');
    expect(heard.sort()).toEqual([
      `emitter 127.0.0.1:${clientPort} true`,
      `listener 127.0.0.1:${clientPort} true true`,
    ]);
  },
);

test.skipIf(!opensslPresent)(
  'a handshake still in progress at shutdown is closed with the server, which does not wait on it',
  async () => {
    const { key, cert } = makeSelfSignedCertificate();
    const { server, address } = await startEchoServer({ tls: { mode: 'enforcing', key, cert } });
    const [host, port] = address.split(':') as [string, string];
    // A relay that passes the ClientHello on and holds the client's second flight (its Finished) until released.
    let release: () => void = () => {};
    const relay = net.createServer((inbound) => {
      const outbound = net.connect({ host, port: Number(port) });
      inbound.on('error', () => {});
      outbound.on('error', () => {});
      outbound.pipe(inbound);
      let chunks = 0;
      const held: Buffer[] = [];
      inbound.on('data', (chunk: Buffer) => {
        chunks += 1;
        if (chunks === 1) outbound.write(chunk);
        else held.push(chunk);
      });
      release = () => {
        for (const chunk of held) outbound.write(chunk);
      };
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const client = tls.connect({
      host: '127.0.0.1',
      port: (relay.address() as net.AddressInfo).port,
      rejectUnauthorized: false,
    });
    client.on('error', () => {});
    onCleanup(() => {
      client.destroy();
    });
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // The client is done with its side of the handshake once it has sent its Finished (held by the relay).
    await new Promise<void>((resolve) => client.once('secureConnect', () => resolve()));
    const shutdown = server.shutdown({ graceMs: 0 });
    release();
    const outcome = await Promise.race([
      shutdown.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
    ]);
    expect(outcome).toBe('closed');
    await clientClosed;
    expect(server.connections()).toEqual([]);
  },
);
