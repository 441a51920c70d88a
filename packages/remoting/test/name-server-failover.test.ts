import net from 'node:net';
import { describe, expect, test } from 'vitest';
import {
  NameServerUnavailableError,
  RemotingCommand,
  type RemotingServer,
  ResponseCode,
} from '../src/index.js';
import { EchoCode, eventually, newClient, onCleanup, sleep, startEchoServer } from './helpers/servers.js';

/**
 * Room for a loaded machine's event loop on top of a time bound (generous: a
 * starved 2-core machine runs timers seconds late); the bounds tested are
 * still far below what the call would take without the feature.
 */
const SCHEDULING_SLACK_MS = 5000;
/** A connect timeout no test waits out: a call that took it would blow every bound below. */
const LONG_CONNECT_TIMEOUT_MS = 60_000;

/** Answers with the address of the server that handled it. */
const WHO = 100;

interface NameServer {
  server: RemotingServer;
  address: string;
  port: number;
}

async function startNameServer(port = 0): Promise<NameServer> {
  const { server, address } = await startEchoServer({ port });
  server.registerProcessor(WHO, {
    processRequest: () => RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(address),
  });
  return { server, address, port: server.address().port };
}

async function startNameServers(count: number): Promise<NameServer[]> {
  return Promise.all(Array.from({ length: count }, () => startNameServer()));
}

function who() {
  return RemotingCommand.createRequest(WHO);
}

async function whoSync(client: ReturnType<typeof newClient>, timeoutMs = 3000): Promise<string> {
  return String((await client.invokeSync(null, who(), timeoutMs)).body);
}

/** A TCP listener that accepts and never says a word: a TLS handshake with it hangs. */
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

/** A port nobody listens on (connects are refused at once). */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('calls with no address go to the chosen name server', () => {
  test('with three servers, sync, async and oneway calls all land on one of them', async () => {
    const servers = await startNameServers(3);
    const client = newClient();
    client.updateNameServerAddressList(servers.map((s) => s.address));
    expect(client.getNameServerAddressList()).toEqual(servers.map((s) => s.address));

    const landed = new Set<string>();
    for (let i = 0; i < 10; i++) landed.add(await whoSync(client));
    for (let i = 0; i < 10; i++) landed.add(String((await client.invokeAsync(null, who(), 3000)).body));
    await new Promise<void>((resolve, reject) =>
      client.invokeAsync(null, who(), 3000, (error, response) => {
        if (error !== null) reject(error);
        else {
          landed.add(String(response?.body));
          resolve();
        }
      }),
    );
    await client.invokeOneway(null, RemotingCommand.createRequest(EchoCode.ECHO), 3000);

    expect(landed.size).toBe(1);
    const [chosen] = [...landed];
    expect(client.nameServerStats().chosen).toBe(chosen);
    // One connection, to the chosen server only; the oneway went over it too.
    expect(client.stats().channels).toBe(1);
    for (const s of servers) expect(s.server.connections()).toHaveLength(s.address === chosen ? 1 : 0);
  });

  test('with an empty list a call fails at once with a typed, non-retriable error', async () => {
    const client = newClient();
    const error = await client.invokeSync(null, who(), 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NameServerUnavailableError);
    expect(error).toMatchObject({
      code: 'REMOTING_NAME_SERVER_UNAVAILABLE',
      retriable: false,
      written: false,
      attempts: [],
    });
    expect(() => client.updateNameServerAddressList([])).toThrow(TypeError);
    expect(() => client.updateNameServerAddressList(['no-port'])).toThrow(TypeError);
  });

  test('a dead first address is skipped within the same call, and the error-free call lands on a live one', async () => {
    const [live] = await startNameServers(1);
    const dead = [await deadAddress(), await deadAddress()];
    const client = newClient({ connectTimeoutMs: 1000 });
    client.updateNameServerAddressList([...dead, live!.address]);
    // Whatever the random start, every call finds the live server.
    for (let i = 0; i < 5; i++) expect(await whoSync(client, 2000)).toBe(live!.address);
    const stats = client.nameServerStats();
    expect(stats.chosen).toBe(live!.address);
    expect(stats.servers.find((s) => s.address === live!.address)?.available).toBe(true);
  });
});

describe('failover', () => {
  test('when the chosen server dies, at most the calls in flight on it fail, and the next call lands on another', async () => {
    const servers = await startNameServers(3);
    const client = newClient({ connectTimeoutMs: 1000 });
    client.updateNameServerAddressList(servers.map((s) => s.address));
    const chosen = await whoSync(client);
    const victim = servers.find((s) => s.address === chosen)!;

    const inFlight = Array.from({ length: 5 }, () =>
      client
        .invokeSync(
          null,
          RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '5000'),
          10_000,
        )
        .then(
          () => 'ok',
          (e: unknown) => e,
        ),
    );
    await eventually(() => client.stats().pendingResponses === 5, 2000, 'the calls in flight');
    await victim.server.shutdown({ graceMs: 0 });

    const next = await whoSync(client);
    expect(next).not.toBe(chosen);
    expect(servers.map((s) => s.address)).toContain(next);
    const outcomes = await Promise.all(inFlight);
    for (const outcome of outcomes) {
      if (outcome !== 'ok') expect(outcome).toMatchObject({ code: 'REMOTING_SEND_REQUEST' });
    }
    expect(client.nameServerStats().chosen).toBe(next);
    // And it stays there.
    for (let i = 0; i < 5; i++) expect(await whoSync(client)).toBe(next);
  });

  test('with all three down, the call fails within its timeout, naming every address and what happened there', async () => {
    const servers = await startNameServers(3);
    const client = newClient({ connectTimeoutMs: 1000 });
    client.updateNameServerAddressList(servers.map((s) => s.address));
    await whoSync(client);
    for (const s of servers) await s.server.shutdown({ graceMs: 0 });

    const started = performance.now();
    const error = await client.invokeSync(null, who(), 1500).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1500 + SCHEDULING_SLACK_MS);
    expect(error).toBeInstanceOf(NameServerUnavailableError);
    const failure = error as NameServerUnavailableError;
    expect(failure.code).toBe('REMOTING_NAME_SERVER_UNAVAILABLE');
    expect(failure.retriable).toBe(true);
    expect(failure.written).toBe(false);
    expect(failure.attempts.map((a) => a.address).sort()).toEqual(servers.map((s) => s.address).sort());
    for (const attempt of failure.attempts) {
      expect(attempt.outcome).toBe('connect-failed');
      expect(attempt.error).toMatchObject({ code: 'REMOTING_CONNECT' });
      expect(failure.message).toContain(attempt.address);
    }
    expect(failure.message).toMatch(/ECONNREFUSED/);
    expect(client.getAvailableNameServerList()).toEqual([]);
    // Async and oneway calls report the same way.
    await expect(client.invokeAsync(null, who(), 500)).rejects.toBeInstanceOf(NameServerUnavailableError);
    await expect(client.invokeOneway(null, who(), 500)).rejects.toBeInstanceOf(NameServerUnavailableError);
  });

  test('a server that hangs the connect costs only what is left of the call timeout; the rest are named as not tried', async () => {
    const silent = [await startSilentListener(), await startSilentListener(), await startSilentListener()];
    // The TLS handshake is what hangs against a silent listener: a black-holed host, on loopback.
    const client = newClient({
      connectTimeoutMs: LONG_CONNECT_TIMEOUT_MS,
      tls: { rejectUnauthorized: false },
    });
    client.updateNameServerAddressList(silent);
    const started = performance.now();
    const error = (await client
      .invokeSync(null, who(), 400)
      .catch((e: unknown) => e)) as NameServerUnavailableError;
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(NameServerUnavailableError);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    // Without the bound, each silent server would cost the connect timeout (a minute).
    expect(elapsed).toBeLessThan(400 + SCHEDULING_SLACK_MS);
    expect(error.attempts.map((a) => a.outcome)).toEqual(['connect-failed', 'not-tried', 'not-tried']);
    expect(error.message).toMatch(/timeout ran out while the connection was being established/);
    expect(error.attempts.map((a) => a.address).sort()).toEqual([...silent].sort());
  });

  test('a call that joins a slower call’s search still fails on its own timeout', async () => {
    const silent = [await startSilentListener(), await startSilentListener()];
    const client = newClient({
      connectTimeoutMs: LONG_CONNECT_TIMEOUT_MS,
      tls: { rejectUnauthorized: false },
    });
    client.updateNameServerAddressList(silent);
    // The slower call's search would take a minute: the joining call must not wait for it.
    const slow = client.invokeSync(null, who(), LONG_CONNECT_TIMEOUT_MS).catch((e: unknown) => e);
    const started = performance.now();
    const error = (await client
      .invokeSync(null, who(), 200)
      .catch((e: unknown) => e)) as NameServerUnavailableError;
    expect(performance.now() - started).toBeLessThan(200 + SCHEDULING_SLACK_MS);
    expect(error).toBeInstanceOf(NameServerUnavailableError);
    expect(error.attempts.map((a) => a.outcome)).toEqual(['in-progress', 'not-tried']);
    // The slower call goes on with its own search (ended by the cleanup): had it settled,
    // the race would take it, since a settled promise wins over the next turn of the loop.
    const nextTurn = new Promise((resolve) => setImmediate(() => resolve('still waiting')));
    expect(await Promise.race([slow, nextTurn])).toBe('still waiting');
  });

  test('when one server comes back, calls succeed again', async () => {
    const servers = await startNameServers(3);
    const client = newClient({ connectTimeoutMs: 1000 });
    client.updateNameServerAddressList(servers.map((s) => s.address));
    await whoSync(client);
    for (const s of servers) await s.server.shutdown({ graceMs: 0 });
    await expect(client.invokeSync(null, who(), 1000)).rejects.toBeInstanceOf(NameServerUnavailableError);

    const back = await startNameServer(servers[1]!.port);
    expect(await whoSync(client)).toBe(back.address);
  });

  test('with the scan on, a server that comes back is marked available within one scan period', async () => {
    const scanMs = 500;
    const servers = await startNameServers(3);
    const client = newClient({
      connectTimeoutMs: 1000,
      scanAvailableNameServers: true,
      scanAvailableNameServersIntervalMs: scanMs,
    });
    client.updateNameServerAddressList(servers.map((s) => s.address));
    // The first scan runs at once and keeps a connection to every server, as RocketMQ's does.
    await eventually(() => client.getAvailableNameServerList().length === 3, 2000, 'the first scan');
    expect(client.stats().channels).toBe(3);
    expect(client.nameServerStats().scanning).toBe(true);

    for (const s of servers) await s.server.shutdown({ graceMs: 0 });
    await eventually(
      () => client.getAvailableNameServerList().length === 0,
      3 * scanMs,
      'a scan to see them down',
    );
    const down = client.nameServerStats().servers;
    for (const s of down) {
      expect(s.available).toBe(false);
      expect(s.lastError).toMatch(/ECONNREFUSED/);
    }

    const back = await startNameServer(servers[2]!.port);
    const cameBack = performance.now();
    await eventually(
      () => client.getAvailableNameServerList().includes(back.address),
      scanMs + SCHEDULING_SLACK_MS,
      'the scan to see the server back',
    );
    expect(performance.now() - cameBack).toBeLessThan(scanMs + SCHEDULING_SLACK_MS);
    const status = client.nameServerStats().servers.find((s) => s.address === back.address);
    expect(status?.lastSeenAt).toBeGreaterThanOrEqual(Date.now() - scanMs - SCHEDULING_SLACK_MS);
    // Its connection is already open: the call needs no connect.
    expect(back.server.connections()).toHaveLength(1);
    expect(await whoSync(client)).toBe(back.address);
    expect(back.server.connections()).toHaveLength(1);
  });

  test('the scan stops at shutdown, and a list set afterwards does not start it', async () => {
    const servers = await startNameServers(2);
    const client = newClient({ scanAvailableNameServers: true, scanAvailableNameServersIntervalMs: 100 });
    client.updateNameServerAddressList([servers[0]!.address]);
    expect(client.nameServerStats().scanning).toBe(true);
    await client.shutdown();
    expect(client.nameServerStats().scanning).toBe(false);
    client.updateNameServerAddressList(servers.map((s) => s.address));
    expect(client.nameServerStats().scanning).toBe(false);
    await sleep(250);
    expect(servers[1]!.server.connections()).toHaveLength(0);
    await expect(client.invokeSync(null, who(), 500)).rejects.toMatchObject({ code: 'REMOTING_SHUTDOWN' });
  });

  test('with the scan on, choosing skips a server the scan found down', async () => {
    const servers = await startNameServers(3);
    const client = newClient({
      connectTimeoutMs: 1000,
      scanAvailableNameServers: true,
      scanAvailableNameServersIntervalMs: 200,
    });
    const dead = await deadAddress();
    client.updateNameServerAddressList([dead, ...servers.map((s) => s.address)]);
    await eventually(
      () => client.nameServerStats().servers.find((s) => s.address === dead)?.available === false,
      2000,
      'the scan to find the dead address',
    );
    // Every fresh choice (forced by closing the chosen connection) skips it.
    for (let i = 0; i < 8; i++) {
      const landed = await whoSync(client);
      expect(landed).not.toBe(dead);
      client.closeChannels([landed]);
    }
  });
});

describe('the list and the channel table', () => {
  test('an update that drops the chosen server closes its connection and moves calls at once', async () => {
    const servers = await startNameServers(3);
    const client = newClient();
    client.updateNameServerAddressList(servers.map((s) => s.address));
    const chosen = await whoSync(client);
    const victim = servers.find((s) => s.address === chosen)!;
    const rest = servers.filter((s) => s !== victim).map((s) => s.address);

    client.updateNameServerAddressList(rest);
    expect(client.nameServerStats().chosen).toBeNull();
    const next = await whoSync(client);
    expect(rest).toContain(next);
    await eventually(
      () => victim.server.connections().length === 0,
      2000,
      'the dropped server to lose its client',
    );
    expect(client.getNameServerAddressList()).toEqual(rest);
    expect(client.nameServerStats().servers.map((s) => s.address)).toEqual(rest);
  });

  test('an update with the same addresses in another order keeps the choice and its connection', async () => {
    const servers = await startNameServers(3);
    const client = newClient();
    client.updateNameServerAddressList(servers.map((s) => s.address));
    const chosen = await whoSync(client);
    client.updateNameServerAddressList(servers.map((s) => s.address).reverse());
    expect(client.nameServerStats().chosen).toBe(chosen);
    expect(client.getNameServerAddressList()).toEqual(servers.map((s) => s.address));
    expect(await whoSync(client)).toBe(chosen);
    expect(client.stats().channels).toBe(1);
  });

  test('concurrent first calls open one connection, not many', async () => {
    const servers = await startNameServers(3);
    const client = newClient();
    client.updateNameServerAddressList(servers.map((s) => s.address));
    const landed = await Promise.all([
      ...Array.from({ length: 40 }, () => whoSync(client)),
      ...Array.from({ length: 40 }, async () => String((await client.invokeAsync(null, who(), 3000)).body)),
    ]);
    expect(new Set(landed).size).toBe(1);
    expect(client.stats().channels).toBe(1);
    const connections = servers.reduce((sum, s) => sum + s.server.connections().length, 0);
    expect(connections).toBe(1);
  });

  test('a send failure on the chosen connection clears the choice; the next call chooses again', async () => {
    const servers = await startNameServers(2);
    const client = newClient();
    client.updateNameServerAddressList(servers.map((s) => s.address));
    const chosen = await whoSync(client);
    const victim = servers.find((s) => s.address === chosen)!;
    for (const channel of victim.server.connections()) channel.destroy();
    await eventually(() => client.nameServerStats().chosen === null, 2000, 'the choice to be cleared');
    const next = await whoSync(client);
    expect(next).toBe(servers.find((s) => s !== victim)!.address);
  });

  test('closeChannels closes the named connections; the next call reconnects', async () => {
    const servers = await startNameServers(2);
    const client = newClient();
    for (const s of servers) await client.invokeSync(s.address, who(), 3000);
    expect(client.stats().channels).toBe(2);
    client.closeChannels([servers[0]!.address, '127.0.0.1:1']);
    await eventually(() => servers[0]!.server.connections().length === 0, 2000, 'the close');
    expect(servers[1]!.server.connections()).toHaveLength(1);
    expect(String((await client.invokeSync(servers[0]!.address, who(), 3000)).body)).toBe(
      servers[0]!.address,
    );
  });

  test('isChannelWritable is true with no connection, and false while the connection is above its high watermark', async () => {
    const silent = await startSilentListener();
    const client = newClient({ writeBufferHighWaterMark: 64 * 1024, writeBufferLowWaterMark: 16 * 1024 });
    expect(client.isChannelWritable(silent)).toBe(true);
    // The peer never reads: oneways pile up in the socket's buffers until the watermark trips.
    const body = Buffer.alloc(256 * 1024);
    const sends: Promise<unknown>[] = [];
    await client.invokeOneway(silent, RemotingCommand.createRequest(EchoCode.ECHO), 1000);
    for (let i = 0; i < 64 && client.isChannelWritable(silent); i++) {
      sends.push(
        client
          .invokeOneway(silent, RemotingCommand.createRequest(EchoCode.ECHO).setBody(body), 200)
          .catch((e) => e),
      );
      await sleep(1);
    }
    expect(client.isChannelWritable(silent)).toBe(false);
    client.closeChannels([silent]);
    await Promise.all(sends);
    expect(client.isChannelWritable(silent)).toBe(true);
  });
});
