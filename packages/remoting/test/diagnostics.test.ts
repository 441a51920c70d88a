/**
 * Observability: named diagnostics_channel channels for calls made, requests
 * served and connection lifecycle; per-request-code counters and latency
 * percentiles in stats(); NODE_DEBUG=remoting; invokeSyncOk's typed error for
 * a non-SUCCESS answer.
 */
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import {
  type CallEndMessage,
  type CallErrorMessage,
  type CallStartMessage,
  type CallWrittenMessage,
  type ChannelErrorMessage,
  type ChannelMessage,
  diagnosticsChannels,
  RemotingCommand,
  RemotingCommandError,
  type RequestEndMessage,
  type RequestErrorMessage,
  type RequestStartMessage,
  ResponseCode,
} from '../src/index.js';
import {
  connectRaw,
  EchoCode,
  eventually,
  newClient,
  onCleanup,
  startEchoServer,
} from './helpers/servers.js';

const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Collects what `name` publishes during the test. */
function record<T>(name: string): T[] {
  const seen: T[] = [];
  const listener = (message: unknown) => {
    seen.push(message as T);
  };
  diagnosticsChannel.subscribe(name, listener);
  onCleanup(() => {
    diagnosticsChannel.unsubscribe(name, listener);
  });
  return seen;
}

test('the channel table names what is published', () => {
  expect(Object.values(diagnosticsChannels).map((c) => c.name)).toEqual([
    'remoting-ts:call:start',
    'remoting-ts:call:end',
    'remoting-ts:call:error',
    'remoting-ts:call:written',
    'remoting-ts:request:start',
    'remoting-ts:request:end',
    'remoting-ts:request:error',
    'remoting-ts:channel:connect',
    'remoting-ts:channel:close',
    'remoting-ts:channel:protocolError',
    'remoting-ts:user-code:error',
  ]);
});

test('calls publish start and end or error, with the facts', async () => {
  const starts = record<CallStartMessage>('remoting-ts:call:start');
  const ends = record<CallEndMessage>('remoting-ts:call:end');
  const errors = record<CallErrorMessage>('remoting-ts:call:error');
  const { address } = await startEchoServer();
  const client = newClient();
  const sync = RemotingCommand.createRequest(EchoCode.ECHO);
  await client.invokeSync(address, sync, 3000);
  await client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  await client.invokeOneway(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  // Answered after 10 s, timed out after 30 ms: an error whatever the machine's load.
  const slow = RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '10000');
  await client.invokeAsync(address, slow, 30).catch(() => {});
  const clientStarts = starts.filter((m) => m.side === 'client');
  expect(clientStarts.map((m) => m.mode)).toEqual(['sync', 'async', 'oneway', 'async']);
  expect(clientStarts[0]).toMatchObject({ remoteAddress: address, request: sync, timeoutMs: 3000 });
  const clientEnds = ends.filter((m) => m.side === 'client');
  expect(clientEnds.map((m) => m.mode)).toEqual(['sync', 'async', 'oneway']);
  expect(clientEnds[0]).toMatchObject({
    remoteAddress: address,
    requestCode: EchoCode.ECHO,
    opaque: sync.opaque,
  });
  expect(clientEnds[0]?.response?.code).toBe(ResponseCode.SUCCESS);
  expect(clientEnds[2]?.response).toBeNull();
  expect(clientEnds.every((m) => m.durationMs >= 0)).toBe(true);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ mode: 'async', requestCode: EchoCode.SLEEP, opaque: slow.opaque });
  expect(errors[0]?.error).toHaveProperty('code', 'REMOTING_TIMEOUT');
  expect(errors[0]?.error).toBeInstanceOf(Error);
});

test("call:written tells when the socket took a call's request: after call:start, before the response", async () => {
  const order: string[] = [];
  const written = record<CallWrittenMessage>('remoting-ts:call:written');
  const follow = (name: string) => (message: unknown) => {
    const { side, opaque, request } = message as { side: string; opaque?: number; request?: RemotingCommand };
    if (side === 'client') order.push(`${name} ${opaque ?? request?.opaque}`);
  };
  for (const name of ['start', 'written', 'end']) {
    const listener = follow(name);
    diagnosticsChannel.subscribe(`remoting-ts:call:${name}`, listener);
    onCleanup(() => {
      diagnosticsChannel.unsubscribe(`remoting-ts:call:${name}`, listener);
    });
  }
  const { address } = await startEchoServer();
  const client = newClient();
  const sync = RemotingCommand.createRequest(EchoCode.ECHO);
  await client.invokeSync(address, sync, 3000);
  const async = RemotingCommand.createRequest(EchoCode.ECHO);
  await client.invokeAsync(address, async, 3000);
  const oneway = RemotingCommand.createRequest(EchoCode.ECHO);
  await client.invokeOneway(address, oneway, 3000);
  await eventually(() => written.length === 3, 2000, 'the oneway write');
  expect(order).toEqual([
    `start ${sync.opaque}`,
    `written ${sync.opaque}`,
    `end ${sync.opaque}`,
    `start ${async.opaque}`,
    `written ${async.opaque}`,
    `end ${async.opaque}`,
    // A oneway call ends once handed to its connection; the socket takes it on the next tick.
    `start ${oneway.opaque}`,
    `end ${oneway.opaque}`,
    `written ${oneway.opaque}`,
  ]);
  expect(written.map((m) => m.mode)).toEqual(['sync', 'async', 'oneway']);
  expect(written[0]).toMatchObject({
    side: 'client',
    remoteAddress: address,
    requestCode: EchoCode.ECHO,
    opaque: sync.opaque,
  });
  expect(written.every((m) => m.durationMs >= 0)).toBe(true);
});

test('a call whose bytes never reach the socket publishes call:error and no call:written', async () => {
  const written = record<CallWrittenMessage>('remoting-ts:call:written');
  const errors = record<CallErrorMessage>('remoting-ts:call:error');
  const { address } = await startEchoServer();
  const client = newClient();
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  written.length = 0;
  const request = RemotingCommand.createRequest(EchoCode.ECHO);
  const call = client.invokeSync(address, request, 3000).catch((e: unknown) => e);
  // The frame waits in this tick's batch: the connection goes before it is flushed.
  client.closeChannel(address);
  const error = await call;
  expect(error).toHaveProperty('code', 'REMOTING_SEND_REQUEST');
  expect(error).toHaveProperty('written', false);
  expect(written).toEqual([]);
  expect(errors.map((m) => m.opaque)).toEqual([request.opaque]);
});

test('served requests publish start and end, or error when the processor throws', async () => {
  const starts = record<RequestStartMessage>('remoting-ts:request:start');
  const ends = record<RequestEndMessage>('remoting-ts:request:end');
  const errors = record<RequestErrorMessage>('remoting-ts:request:error');
  const { server, address } = await startEchoServer();
  server.registerProcessor(40, {
    processRequest: () => {
      throw new Error('disk full');
    },
  });
  const client = newClient();
  const echo = RemotingCommand.createRequest(EchoCode.ECHO);
  await client.invokeSync(address, echo, 3000);
  const failing = await client.invokeSync(address, RemotingCommand.createRequest(40), 3000);
  expect(failing.code).toBe(ResponseCode.SYSTEM_ERROR);
  expect(starts.map((m) => m.request.code)).toEqual([EchoCode.ECHO, 40]);
  expect(starts[0]?.side).toBe('server');
  expect(ends).toHaveLength(1);
  expect(ends[0]?.request.opaque).toBe(echo.opaque);
  expect(ends[0]?.response?.code).toBe(ResponseCode.SUCCESS);
  expect(errors).toHaveLength(1);
  expect(errors[0]?.error.message).toBe('disk full');
  expect(errors[0]?.request.code).toBe(40);
});

test('connections publish connect, close and protocol errors', async () => {
  const connects = record<ChannelMessage>('remoting-ts:channel:connect');
  const closes = record<ChannelMessage>('remoting-ts:channel:close');
  const protocolErrors = record<ChannelErrorMessage>('remoting-ts:channel:protocolError');
  const { address } = await startEchoServer();
  const peer = await connectRaw(address);
  const peerEnd = `127.0.0.1:${peer.socket.localPort}`;
  peer.socket.write(Buffer.from([0, 0, 0, 2, 0, 0]));
  await peer.closed;
  await eventually(() => closes.length === 1, 2000, 'the close');
  expect(connects).toEqual([{ side: 'server', remoteAddress: peerEnd, localAddress: address }]);
  expect(protocolErrors).toHaveLength(1);
  expect(protocolErrors[0]?.remoteAddress).toBe(peerEnd);
  expect(protocolErrors[0]?.error).toHaveProperty('code', 'REMOTING_PROTOCOL');
  expect(protocolErrors[0]?.error).toBeInstanceOf(Error);
  expect(closes[0]?.remoteAddress).toBe(peerEnd);
});

test('stats() counts calls made and requests served per code, with latency percentiles in ms', async () => {
  const { server, address } = await startEchoServer();
  const client = newClient();
  for (let i = 0; i < 10; i++)
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  await client.invokeSync(
    address,
    RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '40'),
    3000,
  );
  await client
    .invokeSync(address, RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '500'), 50)
    .catch(() => {});
  await client.invokeSync(address, RemotingCommand.createRequest(999), 3000);
  const made = client.stats().callsByCode;
  expect(made[EchoCode.ECHO]).toMatchObject({ count: 10, errors: 0 });
  expect(made[EchoCode.SLEEP]).toMatchObject({ count: 2, errors: 1 });
  expect(made[EchoCode.SLEEP]?.maxMs).toBeGreaterThanOrEqual(40);
  expect(made[999]).toMatchObject({ count: 1, errors: 0 });
  const echo = made[EchoCode.ECHO];
  expect(echo?.p50Ms).toBeGreaterThan(0);
  expect(echo?.p50Ms).toBeLessThanOrEqual(echo?.p99Ms ?? 0);
  await eventually(
    () => (server.stats().requestsByCode[EchoCode.SLEEP]?.count ?? 0) === 2,
    2000,
    'the slow request to end',
  );
  const served = server.stats().requestsByCode;
  expect(served[EchoCode.ECHO]).toMatchObject({ count: 10, errors: 0 });
  expect(served[EchoCode.SLEEP]?.p99Ms).toBeGreaterThanOrEqual(40);
  expect(served[999]).toMatchObject({ count: 1 });
});

test('invokeSyncOk turns a non-SUCCESS answer into RemotingCommandError carrying the response', async () => {
  const { address } = await startEchoServer();
  const client = newClient();
  const ok = await client.invokeSyncOk(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(ok.code).toBe(ResponseCode.SUCCESS);
  const error = (await client
    .invokeSyncOk(address, RemotingCommand.createRequest(998), 3000)
    .catch((e: unknown) => e)) as RemotingCommandError;
  expect(error).toBeInstanceOf(RemotingCommandError);
  expect(error.code).toBe('REMOTING_COMMAND');
  expect(error.responseCode).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  expect(error.remark).toBe(' request type 998 not supported');
  expect(error.requestCode).toBe(998);
  expect(error.remoteAddress).toBe(address);
});

test('NODE_DEBUG=remoting logs connection lifecycle and protocol errors to stderr', async () => {
  const script = `
    import net from 'node:net';
    import { RemotingServer, RemotingClient, RemotingCommand } from './src/index.ts';
    const server = new RemotingServer();
    await server.start();
    const address = '127.0.0.1:' + server.address().port;
    const client = new RemotingClient();
    await client.invokeSync(address, RemotingCommand.createRequest(5), 3000);
    const bad = net.connect(server.address().port, '127.0.0.1');
    await new Promise((resolve) => bad.on('connect', resolve));
    bad.on('error', () => {});
    bad.write(Buffer.from([0, 0, 0, 2, 0, 0]));
    await new Promise((resolve) => bad.on('close', resolve));
    await client.shutdown();
    await server.shutdown({ graceMs: 0 });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: packageDir,
    env: { ...process.env, NODE_DEBUG: 'remoting' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(exitCode, stderr).toBe(0);
  expect(stderr).toMatch(/REMOTING \d+: client channel 127\.0\.0\.1:\d+: connected/);
  expect(stderr).toMatch(/REMOTING \d+: server channel 127\.0\.0\.1:\d+: connected/);
  expect(stderr).toMatch(/REMOTING \d+: server channel 127\.0\.0\.1:\d+: protocol error, closing: /);
  expect(stderr).toMatch(/REMOTING \d+: client channel 127\.0\.0\.1:\d+: closed/);
});

test('a call that cannot connect publishes a start and a REMOTING_CONNECT error, and is counted', async () => {
  const starts = record<CallStartMessage>('remoting-ts:call:start');
  const errors = record<CallErrorMessage>('remoting-ts:call:error');
  // A port nobody listens on: bind one, then close it.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  const client = newClient();
  const error = await client
    .invokeSync(address, RemotingCommand.createRequest(77), 1000)
    .catch((e: unknown) => e);
  expect(error).toHaveProperty('code', 'REMOTING_CONNECT');
  await new Promise<void>((resolve) =>
    client.invokeAsync(address, RemotingCommand.createRequest(77), 1000, () => resolve()),
  );
  expect(starts.map((m) => [m.mode, m.remoteAddress])).toEqual([
    ['sync', address],
    ['async', address],
  ]);
  expect(
    errors.map((m) => [m.mode, m.requestCode, (m.error as { code?: string } | undefined)?.code]),
  ).toEqual([
    ['sync', 77, 'REMOTING_CONNECT'],
    ['async', 77, 'REMOTING_CONNECT'],
  ]);
  expect(client.stats().callsByCode[77]).toMatchObject({ count: 2, errors: 2 });
});
