import { describe, expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { EchoCode, eventually, newClient, sleep, startEchoServer } from './helpers/servers.js';

describe('idle channels', () => {
  test('the server closes a channel idle past channelMaxIdleTimeSeconds; the next call reconnects', async () => {
    const { server, address } = await startEchoServer({ channelMaxIdleTimeSeconds: 0.3 });
    const serverConnects: string[] = [];
    const serverIdle: string[] = [];
    server.on('connect', (remote) => serverConnects.push(remote));
    server.on('idle', (remote) => serverIdle.push(remote));
    const client = newClient();
    const clientCloses: string[] = [];
    client.on('close', (remote) => clientCloses.push(remote));

    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const firstEnd = server.connections()[0]?.remoteAddress;
    const idleSince = performance.now();
    await eventually(() => clientCloses.length === 1, 5000, 'the client to see the close');
    expect(performance.now() - idleSince).toBeGreaterThanOrEqual(250);
    expect(clientCloses).toEqual([address]);
    expect(serverIdle).toEqual([firstEnd]);
    expect(server.connections()).toHaveLength(0);
    expect(client.stats().channels).toBe(0);

    const response = await client.invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('back'),
      3000,
    );
    expect(response.body?.toString()).toBe('back');
    await eventually(() => serverConnects.length === 2, 2000, 'a second connect');
    expect(server.connections()[0]?.remoteAddress).not.toBe(firstEnd);
  });

  test('traffic keeps a channel alive: calls more often than the idle time never see a close', async () => {
    // Calls every 100 ms against a 2 s idle time: a loaded machine may stretch a gap
    // several times over, never twenty. They go on past 1.5 idle times, however long that takes.
    const IDLE_SECONDS = 2;
    const { server, address } = await startEchoServer({ channelMaxIdleTimeSeconds: IDLE_SECONDS });
    const client = newClient();
    const closes: string[] = [];
    client.on('close', (remote) => closes.push(remote));
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 60_000);
    const firstEnd = server.connections()[0]?.remoteAddress;
    const until = performance.now() + 1.5 * IDLE_SECONDS * 1000;
    while (performance.now() < until) {
      await sleep(100);
      await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 60_000);
    }
    expect(closes).toEqual([]);
    expect(server.connections().map((c) => c.remoteAddress)).toEqual([firstEnd]);
  });

  test("idle time counts socket traffic only (Netty's ALL_IDLE): a request processed past the limit loses its connection", async () => {
    const { address } = await startEchoServer({ channelMaxIdleTimeSeconds: 0.3 });
    const client = newClient();
    const error = await client
      .invokeSync(
        address,
        RemotingCommand.createRequest(EchoCode.SLEEP).addExtField('sleepMs', '10000'),
        60_000,
      )
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('REMOTING_SEND_REQUEST');
  });
});
