import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

test('a sync call over loopback gets its body and extFields back', async () => {
  const { address } = await startEchoServer();
  const client = newClient();
  const response = await client.invokeSync(
    address,
    RemotingCommand.createRequest(EchoCode.ECHO).setBody('hello').addExtField('k', 'v'),
    3000,
  );
  expect(response.code).toBe(0);
  expect(response.body?.toString()).toBe('hello');
  expect(response.getExtField('k')).toBe('v');
});
