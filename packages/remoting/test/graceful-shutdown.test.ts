/**
 * shutdown({ graceful: true }) for rolling restarts: stop accepting, answer
 * new requests at once and unprocessed (RocketMQ 5's GO_AWAY to peers whose
 * version says they understand it, SYSTEM_BUSY to the others), let what is in
 * flight finish, then close. A client that announces version 476 answers
 * GO_AWAY as the 5.x Java client does: a new connection (another name
 * server for a call with no address) and one retry.
 */
import { expect, test } from 'vitest';
import {
  GO_AWAY_MIN_VERSION,
  RemotingCommand,
  RemotingConnectError,
  type RequestProcessor,
  ResponseCode,
} from '../src/index.js';
import { Remarks } from '../src/remoting/inbound-dispatcher.js';
import {
  connectRaw,
  EchoCode,
  echoResponse,
  eventually,
  newClient,
  startEchoServer,
} from './helpers/servers.js';

function request(code: number, version: number): RemotingCommand {
  const command = RemotingCommand.createRequest(code);
  command.version = version;
  return command;
}

/** A processor that holds each request until released: work in flight while the server drains. */
function slowProcessor(): { processor: RequestProcessor; started: () => boolean; release: () => void } {
  const waiting: Array<() => void> = [];
  let started = 0;
  return {
    processor: {
      processRequest: async (_ctx, slowRequest) => {
        started += 1;
        await new Promise<void>((resolve) => waiting.push(resolve));
        return echoResponse(slowRequest);
      },
    },
    started: () => started > 0,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

test('while draining: GO_AWAY from version 476 up, SYSTEM_BUSY below, oneway still processed; in-flight work finishes first', async () => {
  const { server, address } = await startEchoServer();
  let onewayProcessed = 0;
  server.registerProcessor(30, {
    processRequest: () => {
      onewayProcessed += 1;
      return null;
    },
  });
  const slow = slowProcessor();
  server.registerProcessor(31, slow.processor);
  const peer = await connectRaw(address);
  const held = request(31, 0);
  peer.send(held);
  await eventually(slow.started, 3000, 'the slow request to start');
  const shutdown = server.shutdown({ graceful: true, graceMs: 10_000 });
  let shutdownDone = false;
  void shutdown.then(() => {
    shutdownDone = true;
  });
  const newer = request(EchoCode.ECHO, GO_AWAY_MIN_VERSION);
  const older = request(EchoCode.ECHO, GO_AWAY_MIN_VERSION - 1);
  const unversioned = request(EchoCode.ECHO, 0);
  const oneway = request(30, 0).markOneway();
  for (const command of [newer, older, unversioned, oneway]) peer.send(command);
  await eventually(() => peer.commands.length === 3, 3000, 'three immediate answers');
  const byOpaque = new Map(peer.commands.map((c) => [c.opaque, c]));
  expect(byOpaque.get(newer.opaque)).toMatchObject({ code: ResponseCode.GO_AWAY, remark: 'please go away' });
  expect(byOpaque.get(older.opaque)).toMatchObject({
    code: ResponseCode.SYSTEM_BUSY,
    remark: Remarks.shuttingDown,
  });
  expect(byOpaque.get(unversioned.opaque)?.code).toBe(ResponseCode.SYSTEM_BUSY);
  await eventually(() => onewayProcessed === 1, 3000, 'the oneway request to be processed');
  // The request in flight before the shutdown still gets its answer, and only then does the server close.
  expect(shutdownDone).toBe(false);
  slow.release();
  await eventually(() => peer.commands.length === 4, 3000, 'the slow answer');
  expect(byOpaque.has(held.opaque)).toBe(false);
  expect(peer.commands[3]).toMatchObject({ opaque: held.opaque, code: ResponseCode.SUCCESS });
  await shutdown;
  await peer.closed;
});

test('a second shutdown() waits for the first instead of resolving at once', async () => {
  const { server, address } = await startEchoServer();
  const slow = slowProcessor();
  server.registerProcessor(31, slow.processor);
  const client = newClient();
  const inFlight = client.invokeAsync(address, RemotingCommand.createRequest(31), 10_000);
  await eventually(slow.started, 3000, 'the slow request to start');
  const first = server.shutdown({ graceMs: 10_000 });
  let secondDone = false;
  const second = server.shutdown().then(() => {
    secondDone = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(secondDone).toBe(false);
  slow.release();
  await Promise.all([first, second]);
  expect(secondDone).toBe(true);
  expect((await inFlight).code).toBe(ResponseCode.SUCCESS);
  // The client's shutdown does the same.
  const closing = client.shutdown();
  const again = client.shutdown();
  expect(again).toBe(closing);
  await again;
});

test('a client announcing version 476 retries a GO_AWAY once on another name server, in every mode', async () => {
  const leaving = await startEchoServer();
  const staying = await startEchoServer();
  const client = newClient({ version: GO_AWAY_MIN_VERSION, connectTimeoutMs: 1000 });
  // The leaving server is the chosen one: the only one listed when the first call chose.
  client.updateNameServerAddressList([leaving.address]);
  await client.invokeSync(null, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  client.updateNameServerAddressList([leaving.address, staying.address]);
  expect(client.nameServerStats().chosen).toBe(leaving.address);
  const slow = slowProcessor();
  leaving.server.registerProcessor(31, slow.processor);
  // Something in flight keeps the leaving server draining while the calls below arrive.
  const inFlight = client.invokeAsync(leaving.address, RemotingCommand.createRequest(31), 10_000);
  await eventually(slow.started, 3000, 'the slow request to start');
  const drained = leaving.server.shutdown({ graceful: true, graceMs: 10_000 });
  const sync = await client.invokeSync(
    null,
    RemotingCommand.createRequest(EchoCode.ECHO).setBody('sync'),
    3000,
  );
  expect(sync).toMatchObject({ code: ResponseCode.SUCCESS });
  expect(sync.body?.toString()).toBe('sync');
  expect(client.nameServerStats().chosen).toBe(staying.address);
  expect(client.goAwayRetryCount).toBe(1);
  const viaPromise = await client.invokeAsync(null, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(viaPromise.code).toBe(ResponseCode.SUCCESS);
  slow.release();
  expect((await inFlight).code).toBe(ResponseCode.SUCCESS);
  await drained;
  expect(client.stats().pendingResponses).toBe(0);
});

test('the async callback form retries too; an addressed call whose server stopped accepting is told it failed', async () => {
  const leaving = await startEchoServer();
  const staying = await startEchoServer();
  const client = newClient({ version: GO_AWAY_MIN_VERSION, connectTimeoutMs: 1000 });
  await client.invokeSync(leaving.address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  client.updateNameServerAddressList([leaving.address]);
  await client.invokeSync(null, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const slow = slowProcessor();
  leaving.server.registerProcessor(31, slow.processor);
  const inFlight = client.invokeAsync(leaving.address, RemotingCommand.createRequest(31), 10_000);
  await eventually(slow.started, 3000, 'the slow request to start');
  const drained = leaving.server.shutdown({ graceful: true, graceMs: 10_000 });
  // Now the list says: go to the staying server.
  client.updateNameServerAddressList([leaving.address, staying.address]);
  const viaCallback = await new Promise<RemotingCommand | Error>((resolve) =>
    client.invokeAsync(null, RemotingCommand.createRequest(EchoCode.ECHO), 3000, (error, response) =>
      resolve(error ?? (response as RemotingCommand)),
    ),
  );
  expect(viaCallback).toBeInstanceOf(RemotingCommand);
  expect((viaCallback as RemotingCommand).code).toBe(ResponseCode.SUCCESS);
  const addressed = await client
    .invokeSync(leaving.address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)
    .catch((e: unknown) => e);
  expect(addressed).toBeInstanceOf(RemotingConnectError);
  expect(client.goAwayRetryCount).toBe(1);
  slow.release();
  await inFlight;
  await drained;
});

test('a client that keeps the default version sees no GO_AWAY: old peers get SYSTEM_BUSY and no retry happens', async () => {
  const { server, address } = await startEchoServer();
  const slow = slowProcessor();
  server.registerProcessor(31, slow.processor);
  const client = newClient();
  const inFlight = client.invokeAsync(address, RemotingCommand.createRequest(31), 10_000);
  await eventually(slow.started, 3000, 'the slow request to start');
  const drained = server.shutdown({ graceful: true, graceMs: 10_000 });
  const busy = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(busy).toMatchObject({ code: ResponseCode.SYSTEM_BUSY, version: 0 });
  expect(client.goAwayRetryCount).toBe(0);
  slow.release();
  await inFlight;
  await drained;
});
