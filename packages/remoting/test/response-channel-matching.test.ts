/**
 * A response completes only a call made on the channel it arrived on: opaques
 * are per process, so a server that answers with opaques it never received
 * (by bug or by malice) must not complete calls waiting on another server.
 */
import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { eventually, newClient } from './helpers/servers.js';
import { startRawServer } from './support/raw-server.js';

test("a response carrying another channel's opaque completes nothing and is counted unmatched", async () => {
  const silent = await startRawServer();
  const forger = await startRawServer(undefined, (connection, request) => {
    // Answers its own request, plus the five opaques just below it: the calls pending on the silent server.
    for (let opaque = request.opaque - 5; opaque <= request.opaque; opaque++) connection.respond(opaque);
  });
  const client = newClient();
  const settled: string[] = [];
  const onSilent = Array.from({ length: 5 }, () =>
    client.invokeAsync(silent.address, RemotingCommand.createRequest(7), 60_000).then(
      () => settled.push('completed'),
      () => settled.push('failed'),
    ),
  );
  await eventually(() => silent.requests.length === 5, 3000, 'the silent server to receive five calls');
  const toForger = RemotingCommand.createRequest(8);
  const own = await client.invokeSync(forger.address, toForger, 3000);
  expect(own.opaque).toBe(toForger.opaque);
  // The forged responses arrive with the real one; once all five are counted, any call
  // they had completed would have settled too (in the same turn).
  await eventually(() => client.stats().unmatchedResponses === 5, 2000, 'five unmatched responses');
  expect(settled).toEqual([]);
  expect(client.stats().pendingResponses).toBe(5);
  // The silent server's own answers still reach their calls.
  for (const request of silent.requests) silent.connections[0]?.respond(request.opaque);
  await Promise.all(onSilent);
  expect(settled).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
  expect(client.stats().pendingResponses).toBe(0);
});
