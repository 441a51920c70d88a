import { EventEmitter } from 'node:events';
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import {
  type Channel,
  type ChannelEventListener,
  RemotingCommand,
  RemotingProtocolError,
  type RPCHook,
} from '../src/index.js';
import { RemotingEndpoint } from '../src/remoting/remoting-endpoint.js';
import {
  connectRaw,
  EchoCode,
  eventually,
  newClient,
  onCleanup,
  startEchoServer,
} from './helpers/servers.js';

type Recorded = [event: string, remote: string, detail?: unknown];

/** A hook that appends what it sees, tagged with `side`. */
function recordingHook(
  side: string,
  log: string[],
  seen: Array<[string, string, RemotingCommand, RemotingCommand | null]>,
): RPCHook {
  return {
    doBeforeRequest: (remote, request) => {
      log.push(`${side}:before:${request.code}`);
      seen.push([`${side}:before`, remote, request, null]);
    },
    doAfterResponse: (remote, request, response) => {
      log.push(`${side}:after:${request.code}:${response?.code ?? 'none'}`);
      seen.push([`${side}:after`, remote, request, response]);
    },
  };
}

/** A listener that records every channel event in one list. */
function recordingListener(events: Recorded[]): ChannelEventListener {
  return {
    onChannelConnect: (remote) => events.push(['connect', remote]),
    onChannelClose: (remote) => events.push(['close', remote]),
    onChannelIdle: (remote) => events.push(['idle', remote]),
    onChannelException: (remote, _channel, error) => events.push(['exception', remote, error]),
  };
}

describe('RPC hooks', () => {
  test('a sync call runs client before, server before, server after, client after, with the right arguments', async () => {
    const log: string[] = [];
    const seen: Array<[string, string, RemotingCommand, RemotingCommand | null]> = [];
    const { server, address } = await startEchoServer({ rpcHooks: [recordingHook('server', log, seen)] });
    const client = newClient({ rpcHooks: [recordingHook('client', log, seen)] });
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody('hooked');
    const response = await client.invokeSync(address, request, 3000);
    expect(log).toEqual(['client:before:1', 'server:before:1', 'server:after:1:0', 'client:after:1:0']);
    const clientEnd = server.connections()[0]?.remoteAddress;
    const [clientBefore, serverBefore, serverAfter, clientAfter] = seen;
    expect(clientBefore?.[1]).toBe(address);
    expect(clientBefore?.[2]).toBe(request);
    expect(serverBefore?.[1]).toBe(clientEnd);
    expect(serverBefore?.[2].opaque).toBe(request.opaque);
    expect(serverAfter?.[1]).toBe(clientEnd);
    expect(serverAfter?.[3]?.body?.toString()).toBe('hooked');
    expect(clientAfter?.[1]).toBe(address);
    expect(clientAfter?.[2]).toBe(request);
    expect(clientAfter?.[3]).toBe(response);
  });

  test('async calls run the client hooks around the response too; registerRPCHook adds after the options', async () => {
    const log: string[] = [];
    const seen: Array<[string, string, RemotingCommand, RemotingCommand | null]> = [];
    const { address } = await startEchoServer();
    const client = newClient({ rpcHooks: [recordingHook('first', log, seen)] });
    client.registerRPCHook(recordingHook('second', log, seen));
    const response = await client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(log).toEqual(['first:before:1', 'second:before:1', 'first:after:1:0', 'second:after:1:0']);
    expect(seen[3]?.[3]).toBe(response);
  });

  test('a oneway call runs the client before hook only; the server runs both, with no response', async () => {
    const log: string[] = [];
    const seen: Array<[string, string, RemotingCommand, RemotingCommand | null]> = [];
    const { server, address } = await startEchoServer();
    server.registerRPCHook(recordingHook('server', log, seen));
    const client = newClient({ rpcHooks: [recordingHook('client', log, seen)] });
    server.registerProcessor(40, { processRequest: () => null });
    await client.invokeOneway(address, RemotingCommand.createRequest(40), 3000);
    await eventually(() => log.length === 3, 3000, 'the server hooks');
    expect(log).toEqual(['client:before:40', 'server:before:40', 'server:after:40:none']);
  });

  test('a client hook that throws fails that call, not the connection', async () => {
    const { server, address } = await startEchoServer();
    let armed = false;
    const client = newClient({
      rpcHooks: [
        {
          doBeforeRequest: () => {
            if (armed) throw new Error('hook refused');
          },
        },
      ],
    });
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const port = server.connections()[0]?.remoteAddress;
    armed = true;
    await expect(
      client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000),
    ).rejects.toThrow('hook refused');
    await expect(
      client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000),
    ).rejects.toThrow('hook refused');
    armed = false;
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(server.connections().map((c) => c.remoteAddress)).toEqual([port]);
  });
});

describe('channel events', () => {
  test('connect and close reach EventEmitter listeners and the channelEventListener, on both sides', async () => {
    const serverEvents: Recorded[] = [];
    const serverListened: Recorded[] = [];
    const { server, address } = await startEchoServer({
      channelEventListener: recordingListener(serverListened),
    });
    server.on('connect', (remote, channel) => serverEvents.push(['connect', remote, channel]));
    server.on('close', (remote, channel) => serverEvents.push(['close', remote, channel]));
    const clientEvents: Recorded[] = [];
    const clientListened: Recorded[] = [];
    const client = newClient({ channelEventListener: recordingListener(clientListened) });
    client.on('connect', (remote, channel) => clientEvents.push(['connect', remote, channel]));
    client.on('close', (remote, channel) => clientEvents.push(['close', remote, channel]));

    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await eventually(() => serverEvents.length === 1 && clientEvents.length === 1, 2000, 'connect events');
    const serverChannel = server.connections()[0] as Channel;
    const clientEnd = serverChannel.remoteAddress;
    expect(serverEvents[0]).toEqual(['connect', clientEnd, serverChannel]);
    expect(clientEvents[0]?.[0]).toBe('connect');
    expect(clientEvents[0]?.[1]).toBe(address);
    expect((clientEvents[0]?.[2] as Channel | undefined)?.localAddress).toBe(clientEnd);

    // The server drops the connection: both sides hear of it.
    serverChannel.close();
    await eventually(() => serverEvents.length === 2 && clientEvents.length === 2, 3000, 'close events');
    expect(serverEvents[1]).toEqual(['close', clientEnd, serverChannel]);
    expect(clientEvents[1]?.[0]).toBe('close');
    expect(clientEvents[1]?.[1]).toBe(address);
    await eventually(
      () => serverListened.length === 2 && clientListened.length === 2,
      2000,
      'listener events',
    );
    expect(serverListened).toEqual([
      ['connect', clientEnd],
      ['close', clientEnd],
    ]);
    expect(clientListened).toEqual([
      ['connect', address],
      ['close', address],
    ]);
  });

  test('events are delivered on a later turn of the event loop, never inside the I/O callback', async () => {
    const emitted: string[] = [];
    const listened: Recorded[] = [];
    const endpoint = new RemotingEndpoint(
      {
        permitsAsync: 1,
        permitsOneway: 1,
        pauseReadWhenUnwritable: false,
        channelEventListener: recordingListener(listened),
      },
      (event, ..._args) => {
        emitted.push(event);
      },
    );
    const fake = Object.assign(new EventEmitter(), { remoteAddress: '10.0.0.1:1234', destroy: () => {} });
    endpoint.attachChannel(fake as unknown as Channel);
    fake.emit('error', new Error('reset'));
    fake.emit('idle');
    fake.emit('close', false);
    expect(emitted).toEqual([]);
    expect(listened).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitted).toEqual(['connect', 'exception', 'idle', 'close']);
    expect(listened.map(([event]) => event)).toEqual(['connect', 'exception', 'idle', 'close']);
  });

  test('a malformed frame is an exception event on the server, then a close; other clients are untouched', async () => {
    const events: Recorded[] = [];
    const { server, address } = await startEchoServer({ channelEventListener: recordingListener(events) });
    const emitted: Recorded[] = [];
    server.on('exception', (remote, _channel, error) => emitted.push(['exception', remote, error]));
    const client = newClient();
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    const peer = await connectRaw(address);
    const peerEnd = `127.0.0.1:${peer.socket.localPort}`;
    // A length prefix of 2 cannot hold the 4-byte header word.
    peer.socket.write(Buffer.from([0, 0, 0, 2, 0, 0]));
    await peer.closed;
    await eventually(() => emitted.length === 1, 2000, 'the exception event');
    expect(emitted[0]?.[1]).toBe(peerEnd);
    expect(emitted[0]?.[2]).toBeInstanceOf(RemotingProtocolError);
    await eventually(() => events.some((e) => e[0] === 'close' && e[1] === peerEnd), 2000, 'the close event');
    expect(events.filter((e) => e[1] === peerEnd).map((e) => e[0])).toEqual([
      'connect',
      'exception',
      'close',
    ]);
    const response = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(response.code).toBe(0);
  });

  test('a processor that throws is reported as an exception event too', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(41, {
      processRequest: () => {
        throw new Error('processor bug');
      },
    });
    const errors: Error[] = [];
    server.on('exception', (_remote, _channel, error) => errors.push(error));
    const client = newClient();
    const response = await client.invokeSync(address, RemotingCommand.createRequest(41), 3000);
    expect(response.code).toBe(1);
    await eventually(() => errors.length === 1, 2000, 'the exception event');
    expect(errors[0]?.message).toBe('processor bug');
  });

  test('a peer sending garbage is an exception event on the client, and its calls fail', async () => {
    const garbage = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', () => socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => garbage.close(() => resolve())));
    const address = `127.0.0.1:${(garbage.address() as net.AddressInfo).port}`;
    const events: Recorded[] = [];
    const client = newClient({ channelEventListener: recordingListener(events) });
    const error = await client
      .invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000)
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('REMOTING_SEND_REQUEST');
    await eventually(() => events.length === 3, 2000, 'connect, exception, close');
    expect(events.map((e) => e[0])).toEqual(['connect', 'exception', 'close']);
    expect(events[1]?.[2]).toBeInstanceOf(RemotingProtocolError);
  });

  test('idle is reported on the side that times out, then the channel closes', async () => {
    const serverEvents: Recorded[] = [];
    const { address } = await startEchoServer({
      channelMaxIdleTimeSeconds: 0.2,
      channelEventListener: recordingListener(serverEvents),
    });
    const clientIdle: string[] = [];
    const client = newClient();
    client.on('idle', (remote) => clientIdle.push(remote));
    await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await eventually(
      () => serverEvents.some((e) => e[0] === 'close'),
      3000,
      'the server to close the idle channel',
    );
    expect(serverEvents.map((e) => e[0])).toEqual(['connect', 'idle', 'close']);
    expect(clientIdle).toEqual([]);

    const idleClient = newClient({ channelMaxIdleTimeSeconds: 0.2 });
    const idleEvents: string[] = [];
    idleClient.on('idle', (remote) => idleEvents.push(`idle ${remote}`));
    idleClient.on('close', (remote) => idleEvents.push(`close ${remote}`));
    const { address: patient } = await startEchoServer();
    await idleClient.invokeSync(patient, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    await eventually(() => idleEvents.length === 2, 3000, 'the client to close its idle channel');
    expect(idleEvents).toEqual([`idle ${patient}`, `close ${patient}`]);
  });

  test('throwing listeners break neither I/O nor each other', async () => {
    const delivered: string[] = [];
    const thrower: ChannelEventListener = {
      onChannelConnect: () => {
        delivered.push('listener connect');
        throw new Error('listener bug');
      },
      onChannelClose: () => {
        delivered.push('listener close');
        throw new Error('listener bug');
      },
    };
    const { server, address } = await startEchoServer({ channelEventListener: thrower });
    server.on('connect', () => {
      delivered.push('emitter connect');
      throw new Error('emitter bug');
    });
    server.on('close', () => {
      throw new Error('emitter bug');
    });
    const client = newClient({ channelEventListener: thrower });
    client.on('connect', () => {
      throw new Error('emitter bug');
    });
    for (let i = 0; i < 3; i++) {
      const response = await client.invokeSync(
        address,
        RemotingCommand.createRequest(EchoCode.ECHO).setBody(`${i}`),
        3000,
      );
      expect(response.body?.toString()).toBe(`${i}`);
    }
    // The listener still hears of the connect even though the EventEmitter listener before it threw.
    await eventually(
      () => delivered.includes('emitter connect') && delivered.includes('listener connect'),
      3000,
      'the connect on both',
    );
    server.connections()[0]?.close();
    await eventually(
      () => delivered.filter((d) => d === 'listener close').length === 2,
      3000,
      'close on both sides',
    );
    const again = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
    expect(again.code).toBe(0);
  });
});
