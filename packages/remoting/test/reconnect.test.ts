import { describe, expect, test } from 'vitest';
import { RemotingCommand, RemotingConnectError, RemotingSendRequestError } from '../src/index.js';
import { spawnChildServer } from './helpers/child-server.js';
import { EchoCode, eventually, newClient, startEchoServer } from './helpers/servers.js';

describe('reconnect', () => {
  test('after the server restarts on the same port, the next call reconnects and succeeds', async () => {
    const first = await startEchoServer();
    const { port } = first.server.address();
    const address = first.address;
    const client = newClient({ connectTimeoutMs: 1000 });
    const closes: string[] = [];
    client.on('close', (remote) => closes.push(remote));
    expect((await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)).code).toBe(
      0,
    );

    await first.server.shutdown({ graceMs: 0 });
    await eventually(() => closes.length === 1, 2000, 'the client to see the close');
    // While nobody listens, a call fails to connect (and does not hang).
    await expect(
      client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 1000),
    ).rejects.toBeInstanceOf(RemotingConnectError);

    const second = await startEchoServer({ port });
    expect(second.server.address().port).toBe(port);
    const response = await client.invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('again'),
      3000,
    );
    expect(response.body?.toString()).toBe('again');
    expect(second.server.connections()).toHaveLength(1);
    // Async calls use the new connection too.
    const asyncResponse = await client.invokeAsync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO),
      3000,
    );
    expect(asyncResponse.code).toBe(0);
    expect(client.stats().channels).toBe(1);
  });

  test('after a killed server process comes back on its port, calls succeed again', async () => {
    const { child, port } = await spawnChildServer(0);
    const address = `127.0.0.1:${port}`;
    const client = newClient({ connectTimeoutMs: 1000 });
    const unsupported = await client.invokeSync(address, RemotingCommand.createRequest(999), 3000);
    expect(unsupported.code).toBe(3);
    const pending = client
      .invokeSync(address, RemotingCommand.createRequest(2), 10_000)
      .catch((e: unknown) => e);
    await eventually(() => client.stats().pendingResponses === 1, 2000, 'the call in flight');
    child.kill('SIGKILL');
    expect(await pending).toBeInstanceOf(RemotingSendRequestError);

    await spawnChildServer(port);
    const response = await client.invokeSync(address, RemotingCommand.createRequest(999), 3000);
    expect(response.code).toBe(3);
    expect(response.remark).toBe(' request type 999 not supported');
  });
});
