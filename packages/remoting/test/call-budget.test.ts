/**
 * One time budget per call: it starts when the call is made, and connecting,
 * waiting for a permit and waiting for a writable connection all spend it.
 * Callers that share one connect attempt each fail at their own deadline, and
 * a call whose budget is gone before its write is never written (RocketMQ
 * checks costTime before it writes, in invoke0).
 */
import net from 'node:net';
import { expect, test } from 'vitest';
import { hasOpenssl, makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import { RemotingCommand, RemotingConnectError, RemotingTimeoutError, ResponseCode } from '../src/index.js';
import { EchoCode, newClient, onCleanup, startEchoServer } from './helpers/servers.js';
import { startRawServer } from './support/raw-server.js';

/** Accepts TCP and never says a word: a TLS handshake against it hangs (a stalled load balancer). */
async function startSilentListener(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** Settles with the call's outcome and records whether it had settled when `probe` runs. */
function track<T>(call: Promise<T>): { settled: () => boolean; outcome: Promise<unknown> } {
  let done = false;
  const outcome = call.then(
    (value) => {
      done = true;
      return value;
    },
    (error: unknown) => {
      done = true;
      return error;
    },
  );
  return { settled: () => done, outcome };
}

test('callers sharing a stalled TLS connect each fail at their own deadline, not at the first caller’s connect timeout', async () => {
  const silent = await startSilentListener();
  const client = newClient({ connectTimeoutMs: 2000, tls: { rejectUnauthorized: false } });
  const long = track(client.invokeSync(silent, RemotingCommand.createRequest(1), 5000));
  const shortSync = client.invokeSync(silent, RemotingCommand.createRequest(1), 150).catch((e: unknown) => e);
  const shortAsync = client
    .invokeAsync(silent, RemotingCommand.createRequest(1), 200)
    .catch((e: unknown) => e);
  const shortOneway = client
    .invokeOneway(silent, RemotingCommand.createRequest(1), 250)
    .catch((e: unknown) => e);
  const shortErrors = [await shortSync, await shortAsync, await shortOneway];
  // The long call still waits on the same attempt: the short ones did not wait for it to give up.
  expect(long.settled()).toBe(false);
  for (const [i, error] of shortErrors.entries()) {
    expect(error).toBeInstanceOf(RemotingConnectError);
    const connect = error as RemotingConnectError;
    expect(connect.timeoutMs).toBe([150, 200, 250][i]);
    expect(connect.written).toBe(false);
    expect(connect.message).toMatch(/the call's timeout ran out while the connection was being established/);
    // Generous: each failed near its own deadline, far below the 2000 ms connect timeout.
    expect(connect.elapsedMs).toBeLessThan(1500);
  }
  const longError = (await long.outcome) as RemotingConnectError;
  expect(longError).toBeInstanceOf(RemotingConnectError);
  expect(longError.message).toMatch(/connect timed out/);
  expect(longError.timeoutMs).toBe(2000);
});

const opensslPresent = hasOpenssl();
if (!opensslPresent)
  console.warn('call-budget.test.ts TLS relay case skipped: the openssl CLI is not installed');

test.skipIf(!opensslPresent)(
  'a short call that gives up does not cut short the connect attempt a longer call waits on',
  async () => {
    const { key, cert } = makeSelfSignedCertificate();
    const { address } = await startEchoServer({ tls: { mode: 'enforcing', key, cert } });
    // A relay that holds the server's first answer (its half of the TLS handshake) for 400 ms.
    const [host, port] = address.split(':') as [string, string];
    const relay = net.createServer((inbound) => {
      const outbound = net.connect({ host, port: Number(port) });
      inbound.on('error', () => {});
      outbound.on('error', () => {});
      inbound.pipe(outbound);
      let held = true;
      const heldChunks: Buffer[] = [];
      outbound.on('data', (chunk: Buffer) => (held ? heldChunks.push(chunk) : inbound.write(chunk)));
      setTimeout(() => {
        held = false;
        for (const chunk of heldChunks) inbound.write(chunk);
      }, 400);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const relayed = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    const client = newClient({ connectTimeoutMs: 5000, tls: { rejectUnauthorized: false } });
    const short = client.invokeSync(relayed, RemotingCommand.createRequest(EchoCode.ECHO), 100);
    const long = client.invokeSync(
      relayed,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('late'),
      5000,
    );
    await expect(short).rejects.toBeInstanceOf(RemotingConnectError);
    const response = await long;
    expect(response.code).toBe(ResponseCode.SUCCESS);
    expect(response.body?.toString()).toBe('late');
  },
);

test('a call whose time ran out while it waited for a permit is never written', async () => {
  const raw = await startRawServer();
  const client = newClient({ permitsAsync: 1 });
  await client.invokeOneway(raw.address, RemotingCommand.createRequest(9), 3000);
  const holder = RemotingCommand.createRequest(10);
  const late = RemotingCommand.createRequest(11);
  let lateOutcome: unknown = null;
  const lateSettled = new Promise<void>((resolve) => {
    client.invokeAsync(raw.address, holder, 3000, () => {
      // The permit was handed to the waiting call just before this callback ran; keeping the event loop
      // busy past that call's 500 ms budget means its continuation finds no time left to write.
      const until = performance.now() + 600;
      while (performance.now() < until) {
        // busy on purpose
      }
    });
    client.invokeAsync(raw.address, late, 500, (error) => {
      lateOutcome = error;
      resolve();
    });
  });
  // Answer the holder once the late call is queued for the permit.
  while (raw.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  raw.connections[0]?.respond(holder.opaque);
  await lateSettled;
  expect(lateOutcome).toBeInstanceOf(RemotingTimeoutError);
  expect(lateOutcome).toMatchObject({ written: false, requestCode: 11 });
  expect((lateOutcome as Error).message).toMatch(/was not sent: its time ran out before it could be written/);
  // Nothing of it reached the server.
  await client.invokeOneway(raw.address, RemotingCommand.createRequest(12), 3000);
  while (raw.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(raw.requests.map((r) => r.code)).toEqual([9, 10, 12]);
  expect(client.stats().asyncPermits.available).toBe(1);
});
