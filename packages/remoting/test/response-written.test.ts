import { expect, test } from 'vitest';
import { RemotingCommand, ResponseCode } from '../src/index.js';
import { eventually, newClient, startServer } from './helpers/servers.js';

test('onResponseWritten runs once the response body has been handed to the socket', async () => {
  const { server, address } = await startServer();
  const pooled = Buffer.alloc(64 * 1024, 7);
  const events: string[] = [];
  server.registerProcessor(10, {
    processRequest: (ctx) => {
      ctx.onResponseWritten((error) => events.push(`written:${error === null ? 'ok' : error.message}`));
      events.push('processed');
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(pooled);
    },
  });
  const client = newClient();
  const response = await client.invokeSync(address, RemotingCommand.createRequest(10), 3000);
  expect(response.body?.equals(pooled)).toBe(true);
  await eventually(() => events.length === 2, 2000, 'the written callback');
  expect(events).toEqual(['processed', 'written:ok']);
});

test('onResponseWritten runs for a oneway request when processing ends, since no response follows', async () => {
  const { server, address } = await startServer();
  let released = 0;
  server.registerProcessor(11, {
    processRequest: (ctx) => {
      ctx.onResponseWritten((error) => {
        if (error === null) released += 1;
      });
      return null;
    },
  });
  const client = newClient();
  await client.invokeOneway(address, RemotingCommand.createRequest(11), 3000);
  await eventually(() => released === 1, 2000, 'the oneway release');
});

test('onResponseWritten reports an error when the connection is gone before the response is written', async () => {
  const { server, address } = await startServer();
  let outcome: Error | null | undefined;
  server.registerProcessor(12, {
    processRequest: async (ctx) => {
      ctx.onResponseWritten((error) => {
        outcome = error;
      });
      ctx.channel.destroy();
      await ctx.channel.whenClosed();
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody('too late');
    },
  });
  const client = newClient();
  await expect(client.invokeSync(address, RemotingCommand.createRequest(12), 3000)).rejects.toMatchObject({
    code: 'REMOTING_SEND_REQUEST',
  });
  await eventually(() => outcome !== undefined, 2000, 'the failed-write callback');
  expect(outcome).toBeInstanceOf(Error);
});
