/**
 * RocketMQ's binary header carries code and version as int16. Java truncates
 * a larger code silently (RocketMQ 5's POP code 200050 goes out as 3442 and
 * the server answers "not supported"); here a request is refused before
 * anything is written, and a response goes out with a JSON header instead.
 */
import { expect, test } from 'vitest';
import { RemotingCommand, RemotingEncodeError, ResponseCode, SerializeType } from '../src/index.js';
import { newClient, startEchoServer } from './helpers/servers.js';
import { startRawServer } from './support/raw-server.js';

const POP_MESSAGE = 200050;

function binaryRequest(code: number): RemotingCommand {
  const request = RemotingCommand.createRequest(code);
  request.serializeType = SerializeType.ROCKETMQ;
  return request;
}

test('a request code the ROCKETMQ header cannot hold is refused before the write in every mode, naming JSON; the server never sees it', async () => {
  const raw = await startRawServer(
    () => {},
    (connection, request) => connection.respond(request.opaque),
  );
  const client = newClient();
  // One call first, so the refusals below happen on an open connection.
  await client.invokeSync(raw.address, RemotingCommand.createRequest(1), 3000);
  const refusals = [
    await client.invokeSync(raw.address, binaryRequest(POP_MESSAGE), 3000).catch((e: unknown) => e),
    await client.invokeAsync(raw.address, binaryRequest(POP_MESSAGE), 3000).catch((e: unknown) => e),
    await new Promise((resolve) =>
      client.invokeAsync(raw.address, binaryRequest(POP_MESSAGE), 3000, (error) => resolve(error)),
    ),
    await client.invokeOneway(raw.address, binaryRequest(POP_MESSAGE), 3000).catch((e: unknown) => e),
  ];
  for (const error of refusals) {
    expect(error).toBeInstanceOf(RemotingEncodeError);
    expect(error).toMatchObject({
      code: 'REMOTING_ENCODE',
      field: 'code',
      value: POP_MESSAGE,
      written: false,
      retriable: false,
    });
    expect((error as Error).message).toMatch(/request code 200050 does not fit the ROCKETMQ binary header/);
    expect((error as Error).message).toMatch(/JSON serialization carries it/);
  }
  // JSON carries it: the server sees 200050, and nothing else was ever written.
  const json = RemotingCommand.createRequest(POP_MESSAGE);
  expect((await client.invokeSync(raw.address, json, 3000)).code).toBe(ResponseCode.SUCCESS);
  expect(raw.requests.map((r) => r.code)).toEqual([1, POP_MESSAGE]);
  const stats = client.stats();
  expect(stats.pendingResponses).toBe(0);
  expect(stats.asyncPermits.available).toBe(stats.asyncPermits.total);
  expect(stats.onewayPermits.available).toBe(stats.onewayPermits.total);
  expect(stats.callsByCode[POP_MESSAGE]).toMatchObject({ count: 5, errors: 4 });
});

test('a version outside int16 is refused the same way', async () => {
  const raw = await startRawServer();
  const client = newClient();
  const request = binaryRequest(1);
  request.version = 40000;
  const error = await client.invokeSync(raw.address, request, 3000).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RemotingEncodeError);
  expect(error).toMatchObject({ field: 'version', value: 40000, written: false });
  expect(raw.requests).toEqual([]);
});

test('a processor response whose code the ROCKETMQ header cannot hold reaches the peer intact, with a JSON header', async () => {
  const { server, address } = await startEchoServer();
  server.registerProcessor(90, { processRequest: () => RemotingCommand.createResponse(70000, 'big code') });
  const client = newClient();
  const response = await client.invokeSync(address, binaryRequest(90), 3000);
  expect(response.code).toBe(70000);
  expect(response.remark).toBe('big code');
  expect(response.serializeType).toBe(SerializeType.JSON);
  // A code that fits keeps mirroring the request's serialization.
  const echo = await client.invokeSync(address, binaryRequest(1), 3000);
  expect(echo.serializeType).toBe(SerializeType.ROCKETMQ);
});
