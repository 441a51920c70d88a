/**
 * Calls on a channel that has closed (a broker calling back a consumer that
 * just left) fail at once, unwritten, and leave nothing behind that holds the
 * dead channel: no writability queue, no 'close' listener.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { type Channel, RemotingCommand, RemotingSendRequestError } from '../src/index.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

test('calls on a closed channel fail at once, unwritten, and nothing keeps the dead channel', async () => {
  const { server, address } = await startEchoServer();
  const client = newClient();
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  let channel: Channel | undefined = server.connections()[0] as Channel;
  const collected = new WeakRef(channel);
  await client.shutdown();
  await channel.whenClosed();
  const closeListeners = channel.listenerCount('close');
  const failures = [
    await server.invokeSync(channel, RemotingCommand.createRequest(5), 3000).catch((e: unknown) => e),
    await server.invokeAsync(channel, RemotingCommand.createRequest(5), 3000).catch((e: unknown) => e),
    await server.invokeOneway(channel, RemotingCommand.createRequest(5), 3000).catch((e: unknown) => e),
  ];
  for (const error of failures) {
    // An error keeps the receivers of its stack frames (the channel among them) until its stack is read.
    expect((error as Error).stack).toMatch(/^RemotingSendRequestError: /);
    expect(error).toBeInstanceOf(RemotingSendRequestError);
    expect(error).toMatchObject({ written: false });
    expect((error as Error).message).toMatch(/could not be sent: the connection closed/);
  }
  expect(channel.listenerCount('close')).toBe(closeListeners);
  expect(server.stats()).toMatchObject({ pendingResponses: 0, writeWaiters: { calls: 0, bytes: 0 } });
  channel = undefined;
  // No deref() until the end: it would keep the channel alive for the rest of that job.
  for (let i = 0; i < 5; i++) {
    await nextMacrotask();
    collectGarbage();
  }
  expect(collected.deref(), 'the closed channel is still held by something').toBeUndefined();
});
