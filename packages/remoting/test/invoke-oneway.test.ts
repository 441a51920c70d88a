import { describe, expect, test } from 'vitest';
import { RemotingCommand, type RemotingServer } from '../src/index.js';
import {
  connectRaw,
  EchoCode,
  eventually,
  type Gate,
  gate,
  newClient,
  startEchoServer,
} from './helpers/servers.js';

const Code = { SEEN: 10, REJECTING: 11, THROWING: 12, SLOW: 13, UNKNOWN: 4242 } as const;

function oneway(code: number, body = ''): RemotingCommand {
  return RemotingCommand.createRequest(code).setBody(body).markOneway();
}

/**
 * A server whose SLOW processor runs one request at a time with no queue, and
 * holds it until `slowMayFinish` opens: the ones that arrive meanwhile are
 * refused, however the requests are spread over reads.
 */
async function serverWithProcessors(): Promise<{
  server: RemotingServer;
  address: string;
  seen: string[];
  slowMayFinish: Gate;
}> {
  const { server, address } = await startEchoServer();
  const seen: string[] = [];
  const slowMayFinish = gate();
  server.registerProcessor(Code.SEEN, {
    processRequest: (_ctx, request) => {
      seen.push(`seen:${request.body?.toString()}`);
      // Even a processor that returns a response must not get it written for a oneway request.
      return RemotingCommand.createResponse(0, 'must not be sent');
    },
  });
  server.registerProcessor(Code.REJECTING, {
    processRequest: () => {
      seen.push('rejecting:ran');
      return null;
    },
    rejectRequest: () => true,
  });
  server.registerProcessor(Code.THROWING, {
    processRequest: () => {
      seen.push('throwing');
      throw new Error('boom');
    },
  });
  server.registerProcessor(
    Code.SLOW,
    {
      processRequest: async (_ctx, request) => {
        seen.push(`slow:${request.body?.toString()}`);
        await slowMayFinish.opened;
        seen.push(`slow:${request.body?.toString()}:done`);
        return RemotingCommand.createResponse(0);
      },
    },
    { concurrency: 1, queueCapacity: 0 },
  );
  return { server, address, seen, slowMayFinish };
}

describe('invokeOneway', () => {
  test('the server processor sees a oneway call from the client and the oneway permit comes back', async () => {
    const { address, seen } = await serverWithProcessors();
    const client = newClient({ permitsOneway: 3 });
    await client.invokeOneway(address, RemotingCommand.createRequest(Code.SEEN).setBody('a'), 3000);
    await client.invokeOneway(address, RemotingCommand.createRequest(Code.SEEN).setBody('b'), 3000);
    await eventually(() => seen.length === 2, 3000, 'the processor to see both');
    expect(seen).toEqual(['seen:a', 'seen:b']);
    await eventually(() => client.stats().onewayPermits.available === 3, 2000, 'the oneway permits');
    expect(client.stats().pendingResponses).toBe(0);
    expect(client.stats().unmatchedResponses).toBe(0);
  });

  test('no response is ever written for a oneway request, whatever happens to it', async () => {
    const { address, seen, slowMayFinish } = await serverWithProcessors();
    const peer = await connectRaw(address);
    peer.send(oneway(Code.SEEN, 'x'));
    peer.send(oneway(Code.UNKNOWN));
    peer.send(oneway(Code.REJECTING));
    peer.send(oneway(Code.THROWING));
    // Executor for SLOW runs one at a time with no queue: the second and third are refused (overload).
    peer.send(oneway(Code.SLOW, '1'));
    peer.send(oneway(Code.SLOW, '2'));
    peer.send(oneway(Code.SLOW, '3'));
    await eventually(() => seen.length === 3, 3000, 'the processors to run');
    expect(seen).toEqual(['seen:x', 'throwing', 'slow:1']);

    // A fence, and the control that the silence is not a dead socket: a two-way request
    // on the same connection is answered, and any answer to the oneways above would
    // have been written before that one.
    const echo = async (body: string) => {
      const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody(body);
      const before = peer.commands.length;
      peer.send(request);
      await eventually(() => peer.commands.length > before, 3000, `the echo of "${body}"`);
      return request;
    };
    const first = await echo('still here');
    expect(peer.commands.map((c) => [c.opaque, c.body?.toString()])).toEqual([[first.opaque, 'still here']]);

    // The held SLOW finishes: its return value must not be sent either (fenced the same way).
    slowMayFinish.open();
    await eventually(() => seen.includes('slow:1:done'), 3000, 'the slow processor to finish');
    const second = await echo('and still');
    expect(peer.commands.map((c) => c.opaque)).toEqual([first.opaque, second.opaque]);
  });

  test('the same requests without the oneway flag are each answered (the control for the test above)', async () => {
    const { address, slowMayFinish } = await serverWithProcessors();
    const peer = await connectRaw(address);
    const requests = [Code.SEEN, Code.UNKNOWN, Code.REJECTING, Code.THROWING, Code.SLOW, Code.SLOW].map(
      (code) => RemotingCommand.createRequest(code),
    );
    for (const request of requests) peer.send(request);
    // Every answer but the held SLOW's, which comes once it may finish.
    await eventually(() => peer.commands.length === requests.length - 1, 3000, 'the immediate responses');
    slowMayFinish.open();
    await eventually(() => peer.commands.length === requests.length, 3000, 'every response');
    const codeByOpaque = new Map(peer.commands.map((c) => [c.opaque, c.code]));
    expect(requests.map((r) => codeByOpaque.get(r.opaque))).toEqual([0, 3, 2, 1, 0, 2]);
  });
});
