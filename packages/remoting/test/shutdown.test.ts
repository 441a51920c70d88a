import { describe, expect, test } from 'vitest';
import {
  type Channel,
  RemotingCommand,
  RemotingConnectError,
  RemotingSendRequestError,
} from '../src/index.js';
import { EchoCode, eventually, newClient, startEchoServer } from './helpers/servers.js';

function sleepRequest(sleepMs: number): RemotingCommand {
  return RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', String(sleepMs));
}

describe('server shutdown', () => {
  test('lets an in-flight request finish within graceMs, refuses new connections, closes channels', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    const closes: string[] = [];
    client.on('close', (remote) => closes.push(remote));
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    let processing = false;
    server.registerRPCHook({
      doBeforeRequest: (_remote, request) => {
        if (request.code === EchoCode.SLEEP) processing = true;
      },
    });
    const order: string[] = [];
    const inFlight = client.invokeSync(address, sleepRequest(300), 60_000);
    void inFlight.then(() => order.push('response'));
    await eventually(() => processing, 2000, 'the slow request to be processing');

    // A grace far longer than the request: shutdown ends when the request does, not at graceMs.
    const GRACE_MS = 60_000;
    const started = performance.now();
    const stopping = server.shutdown({ graceMs: GRACE_MS });
    void stopping.then(() => order.push('stopped'));
    // While it drains, nobody new gets in.
    const latecomer = newClient({ connectTimeoutMs: 30_000 });
    const refused = await latecomer
      .invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 30_000)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemotingConnectError);

    const response = await inFlight;
    expect(response.code).toBe(0);
    await stopping;
    expect(order).toEqual(['response', 'stopped']);
    expect(performance.now() - started).toBeLessThan(GRACE_MS / 2);
    expect(server.connections()).toHaveLength(0);
    await eventually(() => closes.length === 1, 2000, 'the client to see the close');
    expect(closes).toEqual([address]);
    const after = await client
      .invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 30_000)
      .catch((e: unknown) => e);
    expect(after).toBeInstanceOf(RemotingConnectError);
  });

  test('a request longer than graceMs is cut off: shutdown does not wait for it, its caller gets a send error', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    // The request would take a minute: shutdown returning (and the call failing with a
    // send error, not a response or a timeout) long before that is the cut-off.
    const REQUEST_MS = 60_000;
    const inFlight = client
      .invokeSync(address, sleepRequest(REQUEST_MS), 2 * REQUEST_MS)
      .catch((e: unknown) => e);
    await eventually(() => server.stats().channels === 1, 2000, 'the connection');
    await eventually(() => client.stats().pendingResponses === 1, 2000, 'the call in flight');
    const started = performance.now();
    await server.shutdown({ graceMs: 150 });
    expect(performance.now() - started).toBeLessThan(REQUEST_MS / 2);
    const error = await inFlight;
    expect(error).toBeInstanceOf(RemotingSendRequestError);
  });

  test("fails the server's own calls to its clients", async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    client.registerProcessor(50, { processRequest: () => null });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const channel = server.connections()[0] as Channel;
    const call = server
      .invokeSync(channel, RemotingCommand.createRequest(50), 10_000)
      .catch((e: unknown) => e);
    await eventually(() => server.stats().pendingResponses === 1, 2000, 'the server call in flight');
    await server.shutdown({ graceMs: 0 });
    expect(await call).toBeInstanceOf(RemotingSendRequestError);
    expect(server.stats().pendingResponses).toBe(0);
  });

  test('a second shutdown is harmless', async () => {
    const { server } = await startEchoServer();
    await Promise.all([server.shutdown({ graceMs: 0 }), server.shutdown({ graceMs: 0 })]);
    await server.shutdown();
  });
});

describe('client shutdown', () => {
  test('fails pending sync and async calls with RemotingSendRequestError, closes connections, refuses new calls', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    // Answers a minute away: errors now (not responses, not timeouts) are the shutdown's doing.
    const sync = client.invokeSync(address, sleepRequest(60_000), 120_000).catch((e: unknown) => e);
    const asyncCall = client.invokeAsync(address, sleepRequest(60_000), 120_000).catch((e: unknown) => e);
    await eventually(() => client.stats().pendingResponses === 2, 2000, 'the calls in flight');
    await client.shutdown();
    const errors = await Promise.all([sync, asyncCall]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(RemotingSendRequestError);
      expect((error as RemotingSendRequestError).message).toContain('shut down');
    }
    expect(client.stats().pendingResponses).toBe(0);
    expect(client.stats().channels).toBe(0);
    await eventually(() => server.connections().length === 0, 2000, 'the server to see the close');
    await expect(
      client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 1000),
    ).rejects.toThrow(/shut down/);
    await expect(
      client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 1000),
    ).rejects.toThrow(/shut down/);
  });
});
