/** An opaque is live at most once: a second call with the same opaque is refused, not swapped in. */
import { expect, test } from 'vitest';
import { RemotingCommand, RemotingOpaqueInUseError } from '../src/index.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

test('a call reusing the opaque of a call still in flight is refused unsent; the first call is untouched', async () => {
  const { address } = await startEchoServer();
  const client = newClient();
  const request = RemotingCommand.createRequest(EchoCode.SLEEP)
    .addExtField('sleepMs', '200')
    .setBody('first');
  const first = client.invokeAsync(address, request, 3000);
  const again = await client.invokeAsync(address, request, 3000).catch((e: unknown) => e);
  expect(again).toBeInstanceOf(RemotingOpaqueInUseError);
  expect((again as RemotingOpaqueInUseError).written).toBe(false);
  expect((again as RemotingOpaqueInUseError).message).toMatch(/still waiting/);
  expect((again as RemotingOpaqueInUseError).code).toBe('REMOTING_OPAQUE_IN_USE');
  const response = await first;
  expect(response.body?.toString()).toBe('first');
  const stats = client.stats();
  expect(stats.pendingResponses).toBe(0);
  expect(stats.asyncPermits.available).toBe(stats.asyncPermits.total);
});
