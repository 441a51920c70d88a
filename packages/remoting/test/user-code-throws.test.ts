/**
 * User code never breaks the I/O path: every function a user hands the
 * framework (hooks, callbacks, processors, rejectRequest, listeners) runs
 * guarded. A call settles exactly once whatever its hooks or callback throw,
 * each command of a read is delivered exactly once, the other connections
 * carry on, and each failure surfaces in one documented place:
 *
 * | what threw                               | where it surfaces                                   |
 * |------------------------------------------|-----------------------------------------------------|
 * | a call's doBeforeRequest / doAfterResponse | the call fails with what it threw                 |
 * | an invokeAsync callback                  | re-thrown on a later tick (uncaughtException)       |
 * | a processor, rejectRequest, a server hook | the peer gets SYSTEM_ERROR; an `exception` event   |
 * | onResponseWritten callback               | re-thrown on a later tick                           |
 * | an EventEmitter / ChannelEventListener listener | re-thrown on a later tick, after both deliveries |
 *
 * and every one of them on `remoting-ts:user-code:error`.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { expect, test } from 'vitest';
import {
  type ChannelEventListener,
  RemotingCommand,
  ResponseCode,
  type UserCodeErrorMessage,
} from '../src/index.js';
import {
  connectRaw,
  EchoCode,
  echoResponse,
  eventually,
  newClient,
  onCleanup,
  startEchoServer,
} from './helpers/servers.js';
import { captureUncaught } from './helpers/uncaught.js';

/** A oneway request the server pushes to the client in the same write as a response. */
const PING = 50;
/** Answers after pushing PING: the client reads [PING, response] in one chunk. */
const PING_THEN_ANSWER = 51;
/** Answers, then pushes PING: the client reads [response, PING] in one chunk. */
const ANSWER_THEN_PING = 52;

async function serverThatPushes() {
  const { server, address } = await startEchoServer();
  const ping = () => RemotingCommand.createRequest(PING);
  server.registerProcessor(PING_THEN_ANSWER, {
    processRequest: (ctx, request) => {
      void server.invokeOneway(ctx.channel, ping(), 3000);
      return echoResponse(request);
    },
  });
  server.registerProcessor(ANSWER_THEN_PING, {
    processRequest: (ctx, request) => {
      ctx.writeResponse(echoResponse(request));
      void server.invokeOneway(ctx.channel, ping(), 3000);
      return null;
    },
  });
  return { server, address };
}

/** Counts the PINGs a client is sent. */
function countPings(client: ReturnType<typeof newClient>): { readonly count: number } {
  const pings = { count: 0 };
  client.registerProcessor(PING, {
    processRequest: () => {
      pings.count += 1;
      return null;
    },
  });
  return pings;
}

function recordUserCodeErrors(): UserCodeErrorMessage[] {
  const seen: UserCodeErrorMessage[] = [];
  const onMessage = (message: unknown) => seen.push(message as UserCodeErrorMessage);
  diagnosticsChannel.subscribe('remoting-ts:user-code:error', onMessage);
  onCleanup(() => {
    diagnosticsChannel.unsubscribe('remoting-ts:user-code:error', onMessage);
  });
  return seen;
}

test('a doAfterResponse hook that throws fails its call once, with what it threw, in every mode; the command after the response in the same read runs once', async () => {
  const uncaught = captureUncaught();
  const { server, address } = await serverThatPushes();
  const hookError = new Error('after-hook bug');
  const client = newClient({
    rpcHooks: [
      {
        doAfterResponse: (_remote, request) => {
          if (request.code === PING_THEN_ANSWER) throw hookError;
        },
      },
    ],
  });
  const pings = countPings(client);
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);

  const callbacks: Array<[Error | null, RemotingCommand | null]> = [];
  client.invokeAsync(address, RemotingCommand.createRequest(PING_THEN_ANSWER), 3000, (error, response) => {
    callbacks.push([error, response]);
  });
  await eventually(() => callbacks.length === 1, 5000, 'the callback');
  await expect(
    client.invokeAsync(address, RemotingCommand.createRequest(PING_THEN_ANSWER), 3000),
  ).rejects.toBe(hookError);
  await expect(
    client.invokeSync(address, RemotingCommand.createRequest(PING_THEN_ANSWER), 3000),
  ).rejects.toBe(hookError);
  // Later reads on the same connection: nothing of the earlier ones comes back a second time.
  const after = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(after.code).toBe(ResponseCode.SUCCESS);
  expect(callbacks).toEqual([[hookError, null]]);
  expect(pings.count).toBe(3);
  expect(client.stats().callsByCode[PING_THEN_ANSWER]).toMatchObject({ count: 3, errors: 3 });
  expect(client.stats().pendingResponses).toBe(0);
  expect(server.connections()).toHaveLength(1);
  expect(uncaught.errors).toEqual([]);
});

test('an invokeAsync callback that throws is re-thrown on a later tick, after the rest of its read; the call settles once and other connections carry on', async () => {
  const { server, address } = await serverThatPushes();
  const client = newClient();
  const pings = countPings(client);
  const bystander = newClient();
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  let pingsWhenRethrown = -1;
  const uncaught = captureUncaught(() => {
    pingsWhenRethrown = pings.count;
  });
  const bug = new Error('callback bug');
  let callbackRuns = 0;
  client.invokeAsync(address, RemotingCommand.createRequest(ANSWER_THEN_PING), 3000, (error, response) => {
    callbackRuns += 1;
    expect(error).toBeNull();
    expect(response?.code).toBe(ResponseCode.SUCCESS);
    throw bug;
  });
  const others = Array.from({ length: 20 }, () =>
    bystander.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000),
  );
  await eventually(() => uncaught.errors.length === 1, 5000, 'the re-thrown callback error');
  expect(uncaught.errors).toEqual([bug]);
  // The PING that followed the response in the same chunk was handled before the error surfaced.
  expect(pingsWhenRethrown).toBe(1);
  expect((await Promise.all(others)).every((r) => r.code === ResponseCode.SUCCESS)).toBe(true);
  const after = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(after.code).toBe(ResponseCode.SUCCESS);
  expect(callbackRuns).toBe(1);
  expect(pings.count).toBe(1);
  expect(server.connections()).toHaveLength(2);
  expect(client.stats().pendingResponses).toBe(0);
});

test('a rejectRequest() that throws is answered SYSTEM_ERROR like a throwing processor; the request before it in the same read runs once, the one after it runs', async () => {
  const uncaught = captureUncaught();
  const { server, address } = await startEchoServer();
  let counted = 0;
  server.registerProcessor(60, {
    processRequest: (_ctx, request) => {
      counted += 1;
      return echoResponse(request);
    },
  });
  server.registerProcessor(61, {
    processRequest: (_ctx, request) => echoResponse(request),
    rejectRequest: () => {
      throw new TypeError('rejectRequest bug');
    },
  });
  const exceptions: Error[] = [];
  server.on('exception', (_remote, _channel, error) => exceptions.push(error));
  const peer = await connectRaw(address);
  const first = RemotingCommand.createRequest(60);
  const rejected = RemotingCommand.createRequest(61);
  peer.socket.write(Buffer.concat([first.encode(), rejected.encode()]));
  await eventually(() => peer.commands.length === 2, 5000, 'two answers');
  const third = RemotingCommand.createRequest(60);
  peer.send(third);
  await eventually(() => peer.commands.length === 3, 5000, 'the third answer');
  const byOpaque = new Map(peer.commands.map((c) => [c.opaque, c]));
  expect(byOpaque.get(first.opaque)?.code).toBe(ResponseCode.SUCCESS);
  expect(byOpaque.get(third.opaque)?.code).toBe(ResponseCode.SUCCESS);
  expect(byOpaque.get(rejected.opaque)?.code).toBe(ResponseCode.SYSTEM_ERROR);
  expect(byOpaque.get(rejected.opaque)?.remark).toMatch(/^TypeError: rejectRequest bug/);
  expect(counted).toBe(2);
  await eventually(() => exceptions.length === 1, 3000, 'the exception event');
  expect(exceptions[0]?.message).toBe('rejectRequest bug');
  // Another connection is served all along.
  const client = newClient();
  expect((await client.invokeSync(address, RemotingCommand.createRequest(60), 3000)).code).toBe(0);
  expect(uncaught.errors).toEqual([]);
});

test('a throwing EventEmitter listener or ChannelEventListener is re-thrown off the I/O path, after both have heard the event; the connection is untouched', async () => {
  const uncaught = captureUncaught();
  const delivered: string[] = [];
  const listenerBug = new Error('channelEventListener bug');
  const emitterBug = new Error('event listener bug');
  const listener: ChannelEventListener = {
    onChannelConnect: () => {
      delivered.push('listener connect');
      throw listenerBug;
    },
  };
  const { server, address } = await startEchoServer({ channelEventListener: listener });
  server.on('connect', () => {
    delivered.push('emitter connect');
    throw emitterBug;
  });
  const client = newClient();
  for (let i = 0; i < 3; i++) {
    const response = await client.invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody(`${i}`),
      3000,
    );
    expect(response.body?.toString()).toBe(`${i}`);
  }
  await eventually(() => uncaught.errors.length === 2, 5000, 'both listener errors');
  expect(delivered).toEqual(['emitter connect', 'listener connect']);
  expect(uncaught.errors).toEqual([emitterBug, listenerBug]);
  expect(server.connections()).toHaveLength(1);
  expect((await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)).code).toBe(0);
});

test('an onResponseWritten callback that throws is re-thrown on a later tick; the callbacks after it still run', async () => {
  const uncaught = captureUncaught();
  const { server, address } = await startEchoServer();
  const bug = new Error('written-callback bug');
  const heard: string[] = [];
  server.registerProcessor(70, {
    processRequest: (ctx, request) => {
      ctx.onResponseWritten(() => {
        heard.push('first');
        throw bug;
      });
      ctx.onResponseWritten((error) => heard.push(`second ${error === null ? 'ok' : error.message}`));
      return echoResponse(request);
    },
  });
  const client = newClient();
  const responses = await Promise.all([
    client.invokeAsync(address, RemotingCommand.createRequest(70), 3000),
    client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000),
  ]);
  expect(responses.map((r) => r.code)).toEqual([0, 0]);
  await eventually(() => uncaught.errors.length === 1, 5000, 'the re-thrown error');
  expect(uncaught.errors).toEqual([bug]);
  expect(heard).toEqual(['first', 'second ok']);
  expect(server.connections()).toHaveLength(1);
});

test('every guarded failure is published on remoting-ts:user-code:error, saying what threw and where it went', async () => {
  const uncaught = captureUncaught();
  const seen = recordUserCodeErrors();
  const { server, address } = await startEchoServer({
    rpcHooks: [
      {
        doAfterResponse: (_remote, request) => {
          if (request.code === 82) throw new Error('server after-hook bug');
        },
      },
    ],
  });
  server.registerProcessor(80, {
    processRequest: () => {
      throw new Error('processor bug');
    },
  });
  server.registerProcessor(81, {
    processRequest: () => null,
    rejectRequest: () => {
      throw new Error('reject bug');
    },
  });
  server.registerProcessor(82, { processRequest: (_ctx, request) => echoResponse(request) });
  const client = newClient({
    rpcHooks: [
      {
        doBeforeRequest: (_remote, request) => {
          if (request.code === 83) throw new Error('client before-hook bug');
        },
      },
    ],
  });
  const codes = await Promise.all(
    [80, 81, 82].map(
      async (code) => (await client.invokeSync(address, RemotingCommand.createRequest(code), 3000)).code,
    ),
  );
  expect(codes).toEqual([ResponseCode.SYSTEM_ERROR, ResponseCode.SYSTEM_ERROR, ResponseCode.SYSTEM_ERROR]);
  await expect(client.invokeSync(address, RemotingCommand.createRequest(83), 3000)).rejects.toThrow(
    'client before-hook bug',
  );
  client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000, () => {
    throw new Error('callback bug');
  });
  await eventually(() => uncaught.errors.length === 1, 5000, 'the callback error');
  const summary = seen
    .map((m) => `${m.side} ${m.kind} ${m.outcome} ${m.requestCode} ${(m.error as Error).message}`)
    .sort();
  expect(summary).toEqual(
    [
      'server processRequest response 80 processor bug',
      'server rejectRequest response 81 reject bug',
      'server doAfterResponse response 82 server after-hook bug',
      'client doBeforeRequest call 83 client before-hook bug',
      `client invokeCallback uncaught ${EchoCode.ECHO} callback bug`,
    ].sort(),
  );
  expect(seen.every((m) => m.remoteAddress !== null)).toBe(true);
});
