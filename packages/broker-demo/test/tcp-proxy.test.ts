import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { waitFor } from '../src/util/time.js';
import { TcpProxy } from './support/tcp-proxy.js';

/*
 * The tests' own network fault injector, on real sockets: bytes flow, a
 * blackhole holds them (and delivers them in order once healed), a delay
 * delays them, and a cut resets connections and refuses new ones.
 */

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An echo server on 127.0.0.1. */
async function echo(): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, server };
}

async function through(
  proxy: TcpProxy,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const [host, port] = proxy.address.split(':');
  const socket = connect({ host: host!, port: Number(port) });
  let data = '';
  let closed = false;
  socket.on('data', (chunk) => {
    data += chunk.toString();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  // A refused connection closes without ever connecting.
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  cleanup.push(() => void socket.destroy());
  return { socket, received: () => data, closed: () => closed };
}

async function proxyToEcho(): Promise<TcpProxy> {
  const { port } = await echo();
  const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port } });
  cleanup.push(() => proxy.close());
  return proxy;
}

describe('TcpProxy', () => {
  test('forwards both ways', async () => {
    const proxy = await proxyToEcho();
    const c = await through(proxy);
    c.socket.write('hello');
    await waitFor('the echo', () => (c.received() === 'hello' ? true : undefined), 10_000, 10);
  });

  test('a blackhole holds the bytes without losing them; healing delivers them in order', async () => {
    const proxy = await proxyToEcho();
    const c = await through(proxy);
    proxy.blackhole('toTarget');
    c.socket.write('one ');
    c.socket.write('two');
    // The echo proves the other way is still open: a byte sent after healing comes back after the held ones.
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.received()).toBe('');
    proxy.heal();
    c.socket.write(' three');
    await waitFor('the held bytes', () => (c.received() === 'one two three' ? true : undefined), 10_000, 10);
  });

  test('a one-way blackhole back from the target holds only the answers', async () => {
    const proxy = await proxyToEcho();
    const c = await through(proxy);
    proxy.blackhole('fromTarget');
    c.socket.write('ping');
    await waitFor(
      'the request to reach the target',
      () => (proxy.openConnections === 1 ? true : undefined),
      10_000,
      10,
    );
    expect(c.received()).toBe('');
    proxy.heal();
    await waitFor('the held answer', () => (c.received() === 'ping' ? true : undefined), 10_000, 10);
  });

  test('a delay delivers every chunk that much later', async () => {
    const proxy = await proxyToEcho();
    const c = await through(proxy);
    proxy.delay(300, 'toTarget');
    const sent = Date.now();
    c.socket.write('late');
    await waitFor('the delayed echo', () => (c.received() === 'late' ? true : undefined), 10_000, 10);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(300);
  });

  test('a cut resets open connections and refuses new ones until healed', async () => {
    const proxy = await proxyToEcho();
    const c = await through(proxy);
    proxy.cut();
    await waitFor('the reset', () => (c.closed() ? true : undefined), 10_000, 10);
    const refused = await through(proxy);
    await waitFor('the refusal', () => (refused.closed() ? true : undefined), 10_000, 10);
    proxy.heal();
    const again = await through(proxy);
    again.socket.write('back');
    await waitFor(
      'traffic after healing',
      () => (again.received() === 'back' ? true : undefined),
      10_000,
      10,
    );
  });
});
