import { describe, expect, test } from 'vitest';
import { RemotingCommand, ResponseCode, SerializeType } from '../src/index.js';
import {
  connectRaw,
  EchoCode,
  eventually,
  gate,
  newClient,
  sleep,
  startEchoServer,
} from './helpers/servers.js';

const Code = { REJECTING: 20, SLOW: 21, THROWING: 22, LATER: 23 } as const;

describe('processor dispatch', () => {
  test('an unknown code is answered REQUEST_CODE_NOT_SUPPORTED with RocketMQ remark', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const response = await client.invokeSync(address, RemotingCommand.createRequest(4242), 3000);
    expect(response.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(response.code).toBe(3);
    expect(response.remark).toBe(' request type 4242 not supported');
  });

  test('rejectRequest() true is answered SYSTEM_BUSY [REJECTREQUEST] and the processor never runs', async () => {
    const { server, address } = await startEchoServer();
    let ran = 0;
    server.registerProcessor(Code.REJECTING, {
      processRequest: () => {
        ran += 1;
        return RemotingCommand.createResponse(0);
      },
      rejectRequest: () => true,
    });
    const client = newClient();
    const response = await client.invokeSync(address, RemotingCommand.createRequest(Code.REJECTING), 3000);
    expect(response.code).toBe(ResponseCode.SYSTEM_BUSY);
    expect(response.code).toBe(2);
    expect(response.remark).toBe('[REJECTREQUEST]system busy, start flow control for a while');
    expect(ran).toBe(0);
  });

  test('a full executor answers SYSTEM_BUSY [OVERLOAD] instead of queueing without bound', async () => {
    const { server, address } = await startEchoServer();
    let running = 0;
    let maxRunning = 0;
    // The running request holds its slot until the test has seen the three refusals,
    // however the five requests are spread over reads.
    const refusalsSeen = gate();
    server.registerProcessor(
      Code.SLOW,
      {
        processRequest: async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await refusalsSeen.opened;
          running -= 1;
          return RemotingCommand.createResponse(0);
        },
      },
      { concurrency: 1, queueCapacity: 1 },
    );
    const client = newClient();
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    let refused = 0;
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.invokeAsync(address, RemotingCommand.createRequest(Code.SLOW), 60_000).then((response) => {
          if (response.code === ResponseCode.SYSTEM_BUSY && ++refused === 3) refusalsSeen.open();
          return response;
        }),
      ),
    );
    const codes = responses.map((r) => r.code);
    // One runs, one waits in the queue, the other three are refused at once.
    expect(codes.filter((c) => c === ResponseCode.SUCCESS)).toHaveLength(2);
    const busy = responses.filter((r) => r.code === ResponseCode.SYSTEM_BUSY);
    expect(busy).toHaveLength(3);
    for (const r of busy) expect(r.remark).toBe('[OVERLOAD]system busy, start flow control for a while');
    expect(maxRunning).toBe(1);
    // Once the executor drains it accepts work again.
    const after = await client.invokeSync(address, RemotingCommand.createRequest(Code.SLOW), 60_000);
    expect(after.code).toBe(ResponseCode.SUCCESS);
  });

  test('a throwing processor is answered SYSTEM_ERROR with its error and first frame (as Java exceptionSimpleDesc), and the connection survives', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(Code.THROWING, {
      processRequest: () => {
        throw new Error('processor exploded: disk on fire');
      },
    });
    const connects: string[] = [];
    server.on('connect', (remote) => connects.push(remote));
    const client = newClient();
    const first = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(first.code).toBe(0);
    const clientEnd = server.connections()[0]?.remoteAddress;
    const response = await client.invokeSync(address, RemotingCommand.createRequest(Code.THROWING), 3000);
    expect(response.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(response.code).toBe(1);
    expect(response.remark).toMatch(
      /^Error: processor exploded: disk on fire, Object\.processRequest\(processors\.test\.ts:\d+:\d+\)$/,
    );
    const next = await client.invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('ok'),
      3000,
    );
    expect(next.body?.toString()).toBe('ok');
    expect(server.connections()).toHaveLength(1);
    expect(server.connections()[0]?.remoteAddress).toBe(clientEnd);
    await eventually(() => connects.length === 1, 2000, 'the connect event');
    expect(connects).toEqual([clientEnd]);
  });

  test('a rejecting async processor (rejected promise) is a SYSTEM_ERROR too', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(Code.THROWING, {
      processRequest: async () => {
        await sleep(5);
        throw new Error('async failure');
      },
    });
    const client = newClient();
    const response = await client.invokeSync(address, RemotingCommand.createRequest(Code.THROWING), 3000);
    expect(response.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(response.remark).toMatch(/^Error: async failure, /);
  });

  test('the default processor handles codes without their own; registered codes still reach theirs', async () => {
    const { server, address } = await startEchoServer();
    const seen: number[] = [];
    server.registerDefaultProcessor({
      processRequest: (_ctx, request) => {
        seen.push(request.code);
        return RemotingCommand.createResponse(0, `default handled ${request.code}`);
      },
    });
    const client = newClient();
    const unknown = await client.invokeSync(address, RemotingCommand.createRequest(777), 3000);
    expect(unknown.code).toBe(0);
    expect(unknown.remark).toBe('default handled 777');
    const echo = await client.invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('e'),
      3000,
    );
    expect(echo.body?.toString()).toBe('e');
    expect(seen).toEqual([777]);
  });

  test('an async processor returns null and answers later through ctx.writeResponse; a second answer is ignored', async () => {
    const { server, address } = await startEchoServer();
    let remoteSeen = '';
    server.registerProcessor(Code.LATER, {
      processRequest: (ctx, request) => {
        remoteSeen = ctx.remoteAddress;
        setTimeout(() => {
          ctx.writeResponse(RemotingCommand.createResponse(0, `later:${request.body?.toString()}`));
          ctx.writeResponse(RemotingCommand.createResponse(1, 'second answer'));
        }, 50);
        return null;
      },
    });
    const client = newClient();
    const started = performance.now();
    const response = await client.invokeSync(
      address,
      RemotingCommand.createRequest(Code.LATER).setBody('q'),
      3000,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
    expect(response.code).toBe(0);
    expect(response.remark).toBe('later:q');
    expect(remoteSeen).toBe(server.connections()[0]?.remoteAddress);
    // A fence: a second answer would have been written before this call's response,
    // on the same connection, so it would have arrived (and been counted) by now.
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 60_000);
    expect(client.stats().unmatchedResponses).toBe(0);
  });

  test('a response carries its request opaque and serialization (ROCKETMQ in, ROCKETMQ out; JSON in, JSON out)', async () => {
    const { address } = await startEchoServer();
    const peer = await connectRaw(address);
    const binary = RemotingCommand.createRequest(EchoCode.ECHO).setBody('bin').addExtField('k', 'v');
    binary.serializeType = SerializeType.ROCKETMQ;
    const json = RemotingCommand.createRequest(4242);
    json.serializeType = SerializeType.JSON;
    const binaryUnknown = RemotingCommand.createRequest(4243);
    binaryUnknown.serializeType = SerializeType.ROCKETMQ;
    peer.send(binary);
    peer.send(json);
    peer.send(binaryUnknown);
    await eventually(() => peer.commands.length === 3, 3000, 'three responses');
    const byOpaque = new Map(peer.commands.map((c) => [c.opaque, c]));
    const binaryResponse = byOpaque.get(binary.opaque);
    expect(binaryResponse?.isResponse()).toBe(true);
    expect(binaryResponse?.serializeType).toBe(SerializeType.ROCKETMQ);
    expect(binaryResponse?.getExtField('k')).toBe('v');
    expect(byOpaque.get(json.opaque)?.serializeType).toBe(SerializeType.JSON);
    expect(byOpaque.get(json.opaque)?.code).toBe(3);
    expect(byOpaque.get(binaryUnknown.opaque)?.serializeType).toBe(SerializeType.ROCKETMQ);
    expect(byOpaque.get(binaryUnknown.opaque)?.remark).toBe(' request type 4243 not supported');
  });

  test('the client decodes a ROCKETMQ-serialized response to its ROCKETMQ request', async () => {
    const { address } = await startEchoServer();
    const client = newClient();
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody('b').addExtField('x', '1');
    request.serializeType = SerializeType.ROCKETMQ;
    const response = await client.invokeSync(address, request, 3000);
    expect(response.serializeType).toBe(SerializeType.ROCKETMQ);
    expect(response.getExtField('x')).toBe('1');
  });

  test('a response to a request with opaque 0 keeps opaque 0, even when the processor sets another', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(Code.LATER, {
      processRequest: (_ctx, request) => {
        const response = RemotingCommand.createResponse(0, 'fresh');
        response.opaque = request.opaque + 12345;
        return response;
      },
    });
    const peer = await connectRaw(address);
    const zero = new RemotingCommand(EchoCode.ECHO, 0).setBody('zero');
    peer.send(zero);
    const other = new RemotingCommand(Code.LATER, 0);
    peer.send(other);
    await eventually(() => peer.commands.length === 2, 3000, 'the responses');
    expect(peer.commands.map((c) => c.opaque)).toEqual([0, 0]);
    expect(peer.commands.every((c) => c.isResponse())).toBe(true);
  });
});
