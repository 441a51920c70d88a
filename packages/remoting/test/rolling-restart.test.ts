/**
 * A rolling restart of three `remoting echo-server` processes (SIGTERM: a
 * graceful shutdown that answers GO_AWAY; then the same port again) under
 * continuous calls from one client with no address (the name server list):
 * no call is lost that the client was not told failed. Every call settles,
 * every success carries its own body back, and the client retried the calls
 * that were told GO_AWAY. The figures are printed for the record.
 */
import { expect, test } from 'vitest';
import { type EchoServerProcess, spawnEchoServer } from '../src/cli/spawn-echo-server.js';
import { GO_AWAY_MIN_VERSION, RemotingCommand, ResponseCode } from '../src/index.js';
import { EchoCode, newClient, onCleanup } from './helpers/servers.js';

const WORKERS = 8;

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

test('a rolling restart of three servers loses no call the client was not told failed', async () => {
  const servers: EchoServerProcess[] = [];
  onCleanup(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  });
  for (let i = 0; i < 3; i++) servers.push(await spawnEchoServer());
  const addresses = servers.map((s) => s.address);
  const client = newClient({ version: GO_AWAY_MIN_VERSION, connectTimeoutMs: 2000 });
  client.updateNameServerAddressList(addresses);

  const tally = { made: 0, succeeded: 0, failed: 0, wrongAnswers: 0 };
  const failures: string[] = [];
  let running = true;
  const call = async (id: number, mode: 'sync' | 'async') => {
    tally.made += 1;
    const request = RemotingCommand.createRequest(EchoCode.ECHO).setBody(`call ${id}`);
    try {
      const response =
        mode === 'sync'
          ? await client.invokeSync(null, request, 5000)
          : await client.invokeAsync(null, request, 5000);
      if (response.code === ResponseCode.SUCCESS && response.body?.toString() === `call ${id}`) {
        tally.succeeded += 1;
      } else {
        tally.wrongAnswers += 1;
        failures.push(`call ${id}: code ${response.code} ${response.remark ?? ''}`);
      }
    } catch (error) {
      tally.failed += 1;
      failures.push(`call ${id}: ${(error as Error).message}`);
    }
  };
  let nextId = 0;
  const workers = Array.from({ length: WORKERS }, async (_unused, worker) => {
    while (running) await call(nextId++, worker % 2 === 0 ? 'sync' : 'async');
  });

  const servedBefore = () => tally.succeeded;
  for (let i = 0; i < servers.length; i++) {
    // Let calls flow before each restart, so each server is in use when it goes.
    const mark = servedBefore();
    while (servedBefore() < mark + 200) await new Promise((resolve) => setTimeout(resolve, 10));
    const leaving = servers[i] as EchoServerProcess;
    expect(await leaving.stop('SIGTERM')).toBe(0);
    servers[i] = await spawnEchoServer(['--port', String(portOf(leaving.address))]);
    expect(servers[i]?.address).toBe(addresses[i]);
  }
  const mark = servedBefore();
  while (servedBefore() < mark + 200) await new Promise((resolve) => setTimeout(resolve, 10));
  running = false;
  await Promise.all(workers);

  const retried = client.goAwayRetryCount;
  console.log(
    `rolling restart: ${tally.made} calls made, ${tally.succeeded} succeeded, ${tally.failed} failed, ` +
      `${tally.wrongAnswers} wrong answers, ${retried} retried after GO_AWAY`,
  );
  // Every call settled (the workers ended), and every one is accounted for.
  expect(tally.made).toBe(tally.succeeded + tally.failed + tally.wrongAnswers);
  expect(tally.wrongAnswers).toBe(0);
  // Graceful shutdown tells the client GO_AWAY and it goes elsewhere: nothing failed.
  expect(failures).toEqual([]);
  expect(retried).toBeGreaterThan(0);
  expect(client.stats().pendingResponses).toBe(0);
}, 120_000);
