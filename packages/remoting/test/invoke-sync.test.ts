import net from 'node:net';
import { describe, expect, test } from 'vitest';
import {
  RemotingCommand,
  RemotingConnectError,
  RemotingSendRequestError,
  RemotingTimeoutError,
} from '../src/index.js';
import { EchoCode, eventually, newClient, startEchoServer } from './helpers/servers.js';

const DESTROY_CHANNEL = 99;

function sleepRequest(sleepMs: number): RemotingCommand {
  return RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', String(sleepMs));
}

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('invokeSync', () => {
  test('resolves with the response to its own request', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody('ping').addExtField('k', 'v');
    const response = await client.invokeSync(address, request, 3000);
    expect(response.isResponse()).toBe(true);
    expect(response.code).toBe(0);
    expect(response.opaque).toBe(request.opaque);
    expect(response.body?.toString()).toBe('ping');
    expect(response.getExtField('k')).toBe('v');
    expect(client.stats().pendingResponses).toBe(0);
  });

  test('a slow server gives RemotingTimeoutError naming address, code, elapsed vs timeout, written', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const started = performance.now();
    // The server would answer after 10 s: a timeout error, not a response, is the 150 ms timeout at work.
    const error = await client.invokeSync(address, sleepRequest(10_000), 150).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RemotingTimeoutError);
    expect(error).not.toBeInstanceOf(RemotingSendRequestError);
    const timeout = error as RemotingTimeoutError;
    expect(timeout.code).toBe('REMOTING_TIMEOUT');
    expect(timeout.name).toBe('RemotingTimeoutError');
    expect(timeout.remoteAddress).toBe(address);
    expect(timeout.requestCode).toBe(EchoCode.SLEEP);
    expect(timeout.timeoutMs).toBe(150);
    expect(timeout.written).toBe(true);
    expect(timeout.elapsedMs).toBeGreaterThanOrEqual(140);
    expect(timeout.message).toContain(address);
    expect(timeout.message).toContain(`code ${EchoCode.SLEEP}`);
    expect(timeout.message).toMatch(/after \d+ ms of a 150 ms timeout/);
    expect(timeout.message).toContain('was written');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(client.stats().pendingResponses).toBe(0);
  });

  test('a connection closed mid-call gives RemotingSendRequestError at once, not a timeout', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(DESTROY_CHANNEL, {
      processRequest: (ctx) => {
        ctx.channel.destroy();
        return null;
      },
    });
    const client = newClient();
    const error = await client
      .invokeSync(address, RemotingCommand.createRequest(DESTROY_CHANNEL), 5000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemotingSendRequestError);
    expect(error).not.toBeInstanceOf(RemotingTimeoutError);
    const sendError = error as RemotingSendRequestError;
    expect(sendError.code).toBe('REMOTING_SEND_REQUEST');
    expect(sendError.remoteAddress).toBe(address);
    expect(sendError.requestCode).toBe(DESTROY_CHANNEL);
    expect(sendError.timeoutMs).toBe(5000);
    expect(sendError.written).toBe(true);
    expect(sendError.message).toContain(address);
    expect(sendError.message).toContain(`code ${DESTROY_CHANNEL}`);
    expect(sendError.message).toMatch(/of a 5000 ms timeout/);
    expect(client.stats().pendingResponses).toBe(0);
    // The dropped connection is replaced on the next call.
    const again = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(again.code).toBe(0);
  });

  test('a closed port gives RemotingConnectError naming the address', async () => {
    const port = await closedPort();
    const address = `127.0.0.1:${port}`;
    const client = newClient();
    const error = await client
      .invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemotingConnectError);
    const connectError = error as RemotingConnectError;
    expect(connectError.code).toBe('REMOTING_CONNECT');
    expect(connectError.remoteAddress).toBe(address);
    expect(connectError.message).toContain(address);
    expect(connectError.cause).toBeInstanceOf(Error);
    expect(client.stats().channels).toBe(0);
  });

  test('closeSocketIfTimeout: false keeps the connection after a timeout: the next call uses the same one', async () => {
    const { server, address } = await startEchoServer();
    const connects: string[] = [];
    server.on('connect', (remote) => connects.push(remote));
    const client = newClient({ closeSocketIfTimeout: false });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await expect(client.invokeSync(address, sleepRequest(400), 50)).rejects.toBeInstanceOf(
      RemotingTimeoutError,
    );
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await eventually(() => connects.length >= 1, 2000, 'connect event');
    expect(connects).toHaveLength(1);
    expect(server.connections()).toHaveLength(1);
  });

  test('by default (closeSocketIfTimeout, as RocketMQ 4.9.7) a timeout closes the connection and the next call reconnects', async () => {
    const { server, address } = await startEchoServer();
    const connects: string[] = [];
    server.on('connect', (remote) => connects.push(remote));
    const client = newClient();
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const firstPort = Number(server.connections()[0]?.remoteAddress.split(':')[1]);
    await expect(client.invokeSync(address, sleepRequest(400), 50)).rejects.toBeInstanceOf(
      RemotingTimeoutError,
    );
    await eventually(() => server.connections().length === 0, 3000, 'the server to see the close');
    const response = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(response.code).toBe(0);
    await eventually(() => connects.length === 2, 2000, 'a second connect event');
    const secondPort = Number(server.connections()[0]?.remoteAddress.split(':')[1]);
    expect(secondPort).not.toBe(firstPort);
    expect(connects[1]).not.toBe(connects[0]);
  });
});
