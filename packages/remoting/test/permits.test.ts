import net from 'node:net';
import { describe, expect, test } from 'vitest';
import {
  type Channel,
  CountDownLatch,
  type RemotingClient,
  RemotingCommand,
  RemotingSendRequestError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from '../src/index.js';
import { Permits } from '../src/remoting/permits.js';
import { EchoCode, eventually, newClient, onCleanup, startEchoServer } from './helpers/servers.js';

const fastSweep = { initialDelayMs: 20, intervalMs: 20, graceMs: 0 };

function sleepRequest(sleepMs: number): RemotingCommand {
  return RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', String(sleepMs));
}

/** Asserts the client is back where it started: nothing waiting, every permit home. */
function expectAtRest(client: RemotingClient, asyncTotal: number, onewayTotal = 65535): void {
  const stats = client.stats();
  expect(stats.pendingResponses).toBe(0);
  expect(stats.asyncPermits).toEqual({ total: asyncTotal, available: asyncTotal });
  expect(stats.onewayPermits).toEqual({ total: onewayTotal, available: onewayTotal });
}

describe('async permits on a live connection', () => {
  test('no permit within the timeout gives RemotingTooMuchRequestError with the permit counts', async () => {
    const { server, address } = await startEchoServer();
    let requestsSeen = 0;
    server.registerRPCHook({
      doBeforeRequest: () => {
        requestsSeen += 1;
      },
    });
    const client = newClient({ permitsAsync: 2 });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const slow = [
      client.invokeAsync(address, sleepRequest(600), 60_000),
      client.invokeAsync(address, sleepRequest(600), 60_000),
    ];
    expect(client.stats().asyncPermits).toEqual({ total: 2, available: 0 });
    // The third waits for a permit past its timeout; a fourth queues behind it with more time.
    const third = client
      .invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 150)
      .catch((e: unknown) => e);
    const fourth = client.invokeAsync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('4th'),
      60_000,
    );
    const error = await third;
    expect(error).toBeInstanceOf(RemotingTooMuchRequestError);
    expect(error).not.toBeInstanceOf(RemotingTimeoutError);
    const tooMuch = error as RemotingTooMuchRequestError;
    expect(tooMuch.code).toBe('REMOTING_TOO_MUCH_REQUEST');
    expect(tooMuch.mode).toBe('async');
    expect(tooMuch.remoteAddress).toBe(address);
    expect(tooMuch.requestCode).toBe(EchoCode.ECHO);
    expect(tooMuch.permitsTotal).toBe(2);
    expect(tooMuch.permitsAvailable).toBe(0);
    expect(tooMuch.permitsWaiting).toBe(1);
    expect(tooMuch.waitedMs).toBeGreaterThanOrEqual(130);
    expect(tooMuch.message).toContain(address);
    expect(tooMuch.message).toContain('2 of 2 permits in use');
    expect(tooMuch.message).toContain('not sent');
    // The connection is not dropped for it: the slow calls and the queued one still succeed.
    const done = await Promise.all(slow);
    expect(done.map((r) => r.code)).toEqual([0, 0]);
    expect((await fourth).body?.toString()).toBe('4th');
    // warm-up, two slow, the fourth: the third never went out.
    expect(requestsSeen).toBe(4);
    expect(server.connections()).toHaveLength(1);
    expectAtRest(client, 2);
  });

  test('permits return after success', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsAsync: 8 });
    const calls = Array.from({ length: 50 }, () =>
      client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000),
    );
    await Promise.all(calls);
    expectAtRest(client, 8);
  });

  test('permits return after a sweep timeout', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsAsync: 3, responseTableScan: fastSweep });
    const calls = Array.from({ length: 3 }, () =>
      client.invokeAsync(address, sleepRequest(30_000), 80).catch((e: unknown) => e),
    );
    const errors = await Promise.all(calls);
    for (const e of errors) expect(e).toBeInstanceOf(RemotingTimeoutError);
    expectAtRest(client, 3);
  });

  test('permits return when the channel closes under pending calls', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient({ permitsAsync: 5 });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    // The server would answer after 30 s and the calls time out after 60 s: a send
    // error is the close failing them, whatever the machine's speed.
    const calls = Array.from({ length: 5 }, () =>
      client.invokeAsync(address, sleepRequest(30_000), 60_000).catch((e: unknown) => e),
    );
    await eventually(() => client.stats().pendingResponses === 5, 2000, 'the calls to be in flight');
    expect(client.stats().asyncPermits.available).toBe(0);
    for (const channel of server.connections()) channel.destroy();
    const errors = await Promise.all(calls);
    for (const e of errors) expect(e).toBeInstanceOf(RemotingSendRequestError);
    expectAtRest(client, 5);
  });

  test('permits return when a write fails before the request reached the socket', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsAsync: 4 });
    let channel: Channel | undefined;
    client.on('connect', (_remote, c) => {
      channel = c;
    });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await eventually(() => channel !== undefined, 2000, 'the client connect event');
    const calls = Array.from({ length: 4 }, () =>
      client
        .invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)
        .catch((e: unknown) => e),
    );
    // Writes are corked until the next tick: destroying now fails them unwritten.
    channel?.socket.destroy();
    const errors = await Promise.all(calls);
    for (const e of errors) {
      expect(e).toBeInstanceOf(RemotingSendRequestError);
      expect((e as RemotingSendRequestError).written).toBe(false);
    }
    expectAtRest(client, 4);
    // The next call reconnects.
    const again = await client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(again.code).toBe(0);
  });

  test('permits return when the client shuts down under pending calls', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsAsync: 3 });
    const calls = Array.from({ length: 3 }, () =>
      client.invokeAsync(address, sleepRequest(3000), 5000).catch((e: unknown) => e),
    );
    await eventually(() => client.stats().pendingResponses === 3, 2000, 'the calls to be in flight');
    await client.shutdown();
    const errors = await Promise.all(calls);
    for (const e of errors) expect(e).toBeInstanceOf(RemotingSendRequestError);
    expectAtRest(client, 3);
    expect(client.stats().channels).toBe(0);
  });
});

describe('oneway permits', () => {
  test('return after oneway calls are written', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsOneway: 4 });
    await Promise.all(
      Array.from({ length: 40 }, () =>
        client.invokeOneway(address, RemotingCommand.createRequest(EchoCode.ECHO).setBody('x'), 3000),
      ),
    );
    await eventually(() => client.stats().onewayPermits.available === 4, 2000, 'the oneway permits');
    expectAtRest(client, 65535, 4);
  });

  test('are held until written: a peer that does not read exhausts them, and they return when it goes', async () => {
    // A server that accepts and never reads, so our writes stay queued.
    const sockets: net.Socket[] = [];
    const stuck = net.createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          stuck.close(() => resolve());
        }),
    );
    const address = `127.0.0.1:${(stuck.address() as net.AddressInfo).port}`;
    const client = newClient({ permitsOneway: 2 });
    const big = Buffer.alloc(16 * 1024 * 1024 - 1024);
    // Written into the socket's queue (the kernel cannot take it all): its permit stays out.
    await client.invokeOneway(address, RemotingCommand.createRequest(EchoCode.ECHO).setBody(big), 2000);
    expect(client.stats().onewayPermits.available).toBe(1);
    // Waits for the channel to become writable, holding the second permit.
    const second = client
      .invokeOneway(address, RemotingCommand.createRequest(EchoCode.ECHO), 600)
      .catch((e: unknown) => e);
    const third = await client
      .invokeOneway(address, RemotingCommand.createRequest(EchoCode.ECHO), 150)
      .catch((e: unknown) => e);
    expect(third).toBeInstanceOf(RemotingTooMuchRequestError);
    const tooMuch = third as RemotingTooMuchRequestError;
    expect(tooMuch.mode).toBe('oneway');
    expect(tooMuch.permitsTotal).toBe(2);
    expect(tooMuch.permitsAvailable).toBe(0);
    // Running out of permits is no reason to drop the connection (and the queued big write with it).
    expect(client.stats().channels).toBe(1);
    const secondError = await second;
    expect(secondError).toBeInstanceOf(RemotingTimeoutError);
    expect((secondError as RemotingTimeoutError).message).toContain('unwritable');
    expect(client.stats().onewayPermits.available).toBe(1);
    // The peer goes away: the queued write fails and its permit comes home.
    for (const s of sockets) s.destroy();
    await eventually(() => client.stats().onewayPermits.available === 2, 3000, 'the last oneway permit');
    expectAtRest(client, 65535, 2);
  });
});

describe('Permits (unit)', () => {
  test('grants waiters in FIFO order and never lets a newcomer jump the queue', async () => {
    const permits = new Permits(1);
    const first = permits.tryAcquireNow();
    expect(first).not.toBeNull();
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((name) =>
      permits.tryAcquire(5000).then((release) => {
        order.push(name);
        return release;
      }),
    );
    expect(permits.waiters).toBe(3);
    expect(permits.tryAcquireNow()).toBeNull();
    first?.();
    const a = await waits[0];
    expect(order).toEqual(['a']);
    expect(permits.available).toBe(0);
    a?.();
    const b = await waits[1];
    b?.();
    const c = await waits[2];
    expect(order).toEqual(['a', 'b', 'c']);
    expect(permits.waiters).toBe(0);
    c?.();
    expect(permits.available).toBe(1);
  });

  test('a timed acquire resolves null when no permit comes in time, and leaves the queue', async () => {
    const permits = new Permits(1);
    const held = permits.tryAcquireNow();
    const started = performance.now();
    const release = await permits.tryAcquire(60);
    expect(release).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    expect(permits.waiters).toBe(0);
    held?.();
    // The expired waiter is skipped: the permit goes back to the pool.
    expect(permits.available).toBe(1);
    expect(await permits.tryAcquire(0)).not.toBeNull();
  });

  test('a zero timeout answers at once', async () => {
    const permits = new Permits(1);
    permits.tryAcquireNow();
    expect(await permits.tryAcquire(0)).toBeNull();
    expect(permits.waiters).toBe(0);
  });

  test('a permit is released once however often release is called', async () => {
    const permits = new Permits(2);
    const release = permits.tryAcquireNow();
    expect(permits.available).toBe(1);
    release?.();
    release?.();
    release?.();
    expect(permits.available).toBe(2);
    const waiterHeld = [permits.tryAcquireNow(), permits.tryAcquireNow()];
    const waiting = permits.tryAcquire(1000);
    waiterHeld[0]?.();
    const granted = await waiting;
    waiterHeld[0]?.();
    expect(permits.available).toBe(0);
    granted?.();
    waiterHeld[1]?.();
    expect(permits.available).toBe(2);
  });

  test('rejects a non-positive total', () => {
    expect(() => new Permits(0)).toThrow(RangeError);
    expect(() => new Permits(1.5)).toThrow(RangeError);
  });
});

describe('CountDownLatch (unit)', () => {
  test('a timed await resolves false when the count is not reached in time', async () => {
    const latch = new CountDownLatch(2);
    latch.countDown();
    const started = performance.now();
    expect(await latch.await(50)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
    expect(latch.getCount()).toBe(1);
  });

  test('a timed await resolves true as soon as the count reaches zero', async () => {
    const latch = new CountDownLatch(1);
    const started = performance.now();
    setTimeout(() => latch.countDown(), 20);
    // Timed waits of a minute: woken by the count, they end long before their timeouts.
    const waiters = [latch.await(60_000), latch.await(60_000), latch.await()];
    expect(await Promise.all(waiters)).toEqual([true, true, true]);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(latch.getCount()).toBe(0);
  });

  test('at zero it is open: await is immediate and countDown stays at zero', async () => {
    const latch = new CountDownLatch(0);
    expect(await latch.await(0)).toBe(true);
    latch.countDown();
    expect(latch.getCount()).toBe(0);
    expect(() => new CountDownLatch(-1)).toThrow(RangeError);
  });
});
