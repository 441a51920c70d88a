/**
 * Every invoke takes `{ signal }`. Aborted before the write: the request is
 * never sent. After: the call stops waiting, its permit returns, and a late
 * response is dropped as unmatched. Either way: RemotingAbortError
 * (REMOTING_ABORTED) with the call's facts and the signal's reason as cause.
 */
import net from 'node:net';
import { expect, test } from 'vitest';
import { type Channel, RemotingAbortError, RemotingCommand } from '../src/index.js';
import { EchoCode, eventually, gate, newClient, sleep, startEchoServer } from './helpers/servers.js';
import { startRawServer } from './support/raw-server.js';

/** A request code whose answer a test holds back with a gate. */
const HELD = 90;

function sleepRequest(ms: number): RemotingCommand {
  return RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', String(ms));
}

test('an already-aborted signal rejects at once, without connecting', async () => {
  let connections = 0;
  const listener = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
  const client = newClient();
  const reason = new Error('caller gave up');
  const signal = AbortSignal.abort(reason);
  for (const call of [
    () => client.invokeSync(address, RemotingCommand.createRequest(1), 3000, { signal }),
    () => client.invokeAsync(address, RemotingCommand.createRequest(1), 3000, { signal }),
    () => client.invokeOneway(address, RemotingCommand.createRequest(1), 3000, { signal }),
    () =>
      new Promise((resolve, reject) =>
        client.invokeAsync(
          address,
          RemotingCommand.createRequest(1),
          3000,
          (error, response) => (error ? reject(error) : resolve(response)),
          { signal },
        ),
      ),
  ]) {
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemotingAbortError);
    const abort = error as RemotingAbortError;
    expect(abort.code).toBe('REMOTING_ABORTED');
    expect(abort.written).toBe(false);
    expect(abort.remoteAddress).toBe(address);
    expect(abort.requestCode).toBe(1);
    expect(abort.cause).toBe(reason);
  }
  // A fence: a connection of our own. The listener accepts in arrival order, so
  // a connect any of those calls had started would have been counted before it.
  const fence = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  fence.on('error', () => {});
  await eventually(() => connections === 1, 2000, 'the fence connection');
  fence.destroy();
  expect(connections).toBe(1);
  listener.close();
});

test('aborted after the write: the call rejects written, its permit returns, the late response is unmatched', async () => {
  const { server, address } = await startEchoServer();
  // The answer waits for the test: the abort comes while the call is surely in flight.
  const answer = gate();
  server.registerProcessor(HELD, {
    processRequest: async () => {
      await answer.opened;
      return RemotingCommand.createResponse(0);
    },
  });
  const client = newClient({ permitsAsync: 2 });
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const controller = new AbortController();
  const call = client.invokeAsync(address, RemotingCommand.createRequest(HELD), 60_000, {
    signal: controller.signal,
  });
  await eventually(() => client.stats().pendingResponses === 1, 2000, 'the call to be in flight');
  expect(client.stats().asyncPermits.available).toBe(1);
  controller.abort(new Error('user pressed cancel'));
  const error = (await call.catch((e: unknown) => e)) as RemotingAbortError;
  expect(error).toBeInstanceOf(RemotingAbortError);
  expect(error.written).toBe(true);
  expect(error.timeoutMs).toBe(60_000);
  expect(error.elapsedMs).toBeLessThan(60_000);
  expect((error.cause as Error).message).toBe('user pressed cancel');
  expect(client.stats().pendingResponses).toBe(0);
  expect(client.stats().asyncPermits.available).toBe(2);
  answer.open();
  await eventually(() => client.stats().unmatchedResponses === 1, 2000, 'the late response');
  // The connection is untouched.
  const again = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(again.code).toBe(0);
});

test('AbortSignal.timeout() ends a sync call; its cause is the TimeoutError DOMException', async () => {
  const { address } = await startEchoServer();
  const client = newClient();
  const error = (await client
    .invokeSync(address, sleepRequest(2000), 5000, { signal: AbortSignal.timeout(50) })
    .catch((e: unknown) => e)) as RemotingAbortError;
  expect(error).toBeInstanceOf(RemotingAbortError);
  expect(error.written).toBe(true);
  expect((error.cause as DOMException).name).toBe('TimeoutError');
  expect(client.stats().pendingResponses).toBe(0);
});

test('aborted while waiting for a writable connection: never sent, and it leaves the queue with its body', async () => {
  const stalled = await startRawServer((connection) => connection.socket.pause());
  const client = newClient({ permitsAsync: 10_000 });
  const body = Buffer.alloc(256 * 1024, 5);
  const filler: Array<Promise<unknown>> = [];
  // Fill the kernel's buffers and then Node's until calls start to queue.
  while (client.stats().writeWaiters.calls === 0) {
    filler.push(
      client
        .invokeAsync(stalled.address, RemotingCommand.createRequest(3).setBody(body), 10_000)
        .catch((e) => e),
    );
    await sleep(1);
  }
  const controller = new AbortController();
  const queued = RemotingCommand.createRequest(4).setBody(body);
  const call = client.invokeAsync(stalled.address, queued, 10_000, { signal: controller.signal });
  const before = client.stats().writeWaiters;
  controller.abort();
  const error = (await call.catch((e: unknown) => e)) as RemotingAbortError;
  expect(error).toBeInstanceOf(RemotingAbortError);
  expect(error.written).toBe(false);
  expect(error.cause).toBeInstanceOf(DOMException);
  const after = client.stats().writeWaiters;
  expect(after.calls).toBe(before.calls - 1);
  expect(before.bytes - after.bytes).toBeGreaterThanOrEqual(body.length);
  // Let the peer read everything now: the aborted request never arrives.
  stalled.connections[0]?.socket.resume();
  stalled.connections[0]?.socket.on('data', () => {});
  await client.shutdown();
  await Promise.all(filler);
  expect(stalled.requests.some((r) => r.opaque === queued.opaque)).toBe(false);
});

test('a server calling its client can be aborted too', async () => {
  const { server, address } = await startEchoServer();
  const client = newClient();
  client.registerProcessor(70, {
    processRequest: async () => {
      await sleep(500);
      return RemotingCommand.createResponse(0);
    },
  });
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const [channel] = server.connections();
  const error = (await server
    .invokeSync(channel as Channel, RemotingCommand.createRequest(70), 3000, {
      signal: AbortSignal.timeout(30),
    })
    .catch((e: unknown) => e)) as RemotingAbortError;
  expect(error).toBeInstanceOf(RemotingAbortError);
  expect(error.written).toBe(true);
  expect(server.stats().pendingResponses).toBe(0);
  await eventually(() => server.stats().unmatchedResponses === 1, 2000, 'the late response at the server');
});

test('a oneway call aborted while queued for writability returns its permit and is never sent', async () => {
  const stalled = await startRawServer((connection) => connection.socket.pause());
  const client = newClient({ permitsOneway: 10_000 });
  const body = Buffer.alloc(256 * 1024, 6);
  const filler: Array<Promise<unknown>> = [];
  while (client.stats().writeWaiters.calls === 0) {
    filler.push(
      client
        .invokeOneway(stalled.address, RemotingCommand.createRequest(3).setBody(body), 10_000)
        .catch((e) => e),
    );
    await sleep(1);
  }
  const controller = new AbortController();
  const queued = RemotingCommand.createRequest(4).setBody(body);
  const callsQueuedBefore = client.stats().writeWaiters.calls;
  const call = client.invokeOneway(stalled.address, queued, 10_000, { signal: controller.signal });
  await eventually(
    () => client.stats().writeWaiters.calls === callsQueuedBefore + 1,
    2000,
    'the call to queue for writability',
  );
  const inUseBefore = 10_000 - client.stats().onewayPermits.available;
  controller.abort(new Error('not needed any more'));
  const error = (await call.catch((e: unknown) => e)) as RemotingAbortError;
  expect(error).toBeInstanceOf(RemotingAbortError);
  expect(error.written).toBe(false);
  expect((error.cause as Error).message).toBe('not needed any more');
  expect(10_000 - client.stats().onewayPermits.available).toBe(inUseBefore - 1);
  stalled.connections[0]?.socket.resume();
  await client.shutdown();
  await Promise.all(filler);
  expect(stalled.requests.some((r) => r.opaque === queued.opaque)).toBe(false);
});
