import { describe, expect, test } from 'vitest';
import { RemotingCommand, RemotingSendRequestError, RemotingTimeoutError } from '../src/index.js';
import { EchoCode, eventually, newClient, startEchoServer } from './helpers/servers.js';

const fastSweep = { initialDelayMs: 20, intervalMs: 20, graceMs: 0 };

describe('invokeAsync', () => {
  test('the promise form resolves with the response', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody('async');
    const response = await client.invokeAsync(address, request, 3000);
    expect(response.opaque).toBe(request.opaque);
    expect(response.body?.toString()).toBe('async');
    expect(client.stats().pendingResponses).toBe(0);
    // RocketMQ's client default, all returned.
    expect(client.stats().asyncPermits).toEqual({ total: 65535, available: 65535 });
  });

  test('the callback form calls back exactly once with (null, response)', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const calls: Array<[Error | null, RemotingCommand | null]> = [];
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody('cb');
    const returned = client.invokeAsync(address, request, 3000, (error, response) =>
      calls.push([error, response]),
    );
    expect(returned).toBeUndefined();
    await eventually(() => calls.length > 0, 3000, 'the callback');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toHaveLength(1);
    const [error, response] = calls[0] as [Error | null, RemotingCommand | null];
    expect(error).toBeNull();
    expect(response?.opaque).toBe(request.opaque);
    expect(response?.body?.toString()).toBe('cb');
  });

  test('the callback form reports a connect failure as its error', async () => {
    const client = newClient({ connectTimeoutMs: 500 });
    const error = await new Promise<Error | null>((resolve) =>
      client.invokeAsync('127.0.0.1:1', RemotingCommand.createRequest(EchoCode.ECHO), 1000, (e) =>
        resolve(e),
      ),
    );
    expect((error as { code?: string } | null)?.code).toBe('REMOTING_CONNECT');
  });

  test('10 000 concurrent calls on one connection are each matched to their own request by opaque', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    // Connect first so every call shares the one channel.
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const n = 10_000;
    const requests = Array.from({ length: n }, (_, i) =>
      RemotingCommand.createRequest(EchoCode.ECHO).setBody(`request-${i}`).addExtField('i', String(i)),
    );
    const responses = await Promise.all(
      requests.map((request) => client.invokeAsync(address, request, 20_000)),
    );
    for (let i = 0; i < n; i++) {
      const response = responses[i] as RemotingCommand;
      expect(response.opaque).toBe(requests[i]?.opaque);
      expect(response.body?.toString()).toBe(`request-${i}`);
      expect(response.getExtField('i')).toBe(String(i));
    }
    expect(new Set(responses.map((r) => r.opaque)).size).toBe(n);
    expect(server.connections()).toHaveLength(1);
    const stats = client.stats();
    expect(stats.pendingResponses).toBe(0);
    expect(stats.asyncPermits.available).toBe(stats.asyncPermits.total);
    expect(stats.unmatchedResponses).toBe(0);
    expect(stats.channels).toBe(1);
  });

  test('an async timeout is reported by the response-table sweep and its permit is released', async () => {
    const { address } = await startEchoServer();
    const client = newClient({ permitsAsync: 4, responseTableScan: fastSweep });
    const request = RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '400');
    const pending = client.invokeAsync(address, request, 100);
    await eventually(() => client.stats().pendingResponses === 1, 2000, 'the call to be in flight');
    expect(client.stats().asyncPermits.available).toBe(3);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemotingTimeoutError);
    expect(error).not.toBeInstanceOf(RemotingSendRequestError);
    const timeout = error as RemotingTimeoutError;
    expect(timeout.code).toBe('REMOTING_TIMEOUT');
    expect(timeout.remoteAddress).toBe(address);
    expect(timeout.requestCode).toBe(EchoCode.SLEEP);
    expect(timeout.opaque).toBe(request.opaque);
    expect(timeout.timeoutMs).toBe(100);
    expect(timeout.written).toBe(true);
    expect(timeout.elapsedMs).toBeGreaterThanOrEqual(95);
    expect(client.stats().pendingResponses).toBe(0);
    expect(client.stats().asyncPermits.available).toBe(4);
    // The late response finds nobody waiting, and the connection keeps working.
    await eventually(() => client.stats().unmatchedResponses === 1, 3000, 'the late response');
    const response = await client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(response.code).toBe(0);
  });

  test('a server calls its connected client: async promise, async callback and oneway', async () => {
    const { server, address } = await startEchoServer();
    const client = newClient();
    const seenByClient: string[] = [];
    client.registerProcessor(60, {
      processRequest: (_ctx, request) => {
        seenByClient.push(request.body?.toString() ?? '');
        return RemotingCommand.createResponse(0, `client got ${request.body?.toString()}`);
      },
    });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const channel = server.connections()[0];
    if (channel === undefined) throw new Error('no connection');
    const viaPromise = await server.invokeAsync(
      channel,
      RemotingCommand.createRequest(60).setBody('p'),
      3000,
    );
    expect(viaPromise.remark).toBe('client got p');
    const viaCallback = await new Promise<RemotingCommand | null>((resolve, reject) =>
      server.invokeAsync(channel, RemotingCommand.createRequest(60).setBody('c'), 3000, (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
    expect(viaCallback?.remark).toBe('client got c');
    await server.invokeOneway(channel, RemotingCommand.createRequest(60).setBody('o'), 3000);
    await eventually(() => seenByClient.length === 3, 3000, 'the oneway call');
    expect(seenByClient).toEqual(['p', 'c', 'o']);
    const stats = server.stats();
    expect(stats.pendingResponses).toBe(0);
    // RocketMQ's server defaults: 64 async, 256 oneway permits, all returned.
    expect(stats.asyncPermits).toEqual({ total: 64, available: 64 });
    await eventually(() => server.stats().onewayPermits.available === 256, 2000, 'the oneway permit');
    expect(client.stats().unmatchedResponses).toBe(0);
  });
});
