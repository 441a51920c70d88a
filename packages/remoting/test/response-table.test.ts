import { describe, expect, test } from 'vitest';
import { RemotingCommand, RemotingSendRequestError } from '../src/index.js';
import { spawnChildServer } from './helpers/child-server.js';
import { eventually, newClient } from './helpers/servers.js';

const NEVER_ANSWERS = 2;

describe('response table', () => {
  test('a server killed mid-call fails every pending call at once with RemotingSendRequestError', async () => {
    const { child, address, received } = await spawnChildServer();
    const client = newClient({ permitsAsync: 100 });
    // Far longer than a kill takes even on a loaded machine: a send error, not a
    // timeout, says the close failed the calls.
    const timeoutMs = 60_000;
    const asyncCalls = Array.from({ length: 20 }, () =>
      client
        .invokeAsync(address, RemotingCommand.createRequest(NEVER_ANSWERS), timeoutMs)
        .catch((e: unknown) => e),
    );
    const syncCall = client
      .invokeSync(address, RemotingCommand.createRequest(NEVER_ANSWERS), timeoutMs)
      .catch((e: unknown) => e);
    await eventually(() => received() === 21, 5000, 'the child to receive every request');
    expect(client.stats().pendingResponses).toBe(21);
    expect(client.stats().asyncPermits.available).toBe(80);

    child.kill('SIGKILL');
    const errors = await Promise.all([...asyncCalls, syncCall]);

    for (const error of errors) {
      expect(error).toBeInstanceOf(RemotingSendRequestError);
      const sendError = error as RemotingSendRequestError;
      expect(sendError.code).toBe('REMOTING_SEND_REQUEST');
      expect(sendError.remoteAddress).toBe(address);
      expect(sendError.requestCode).toBe(NEVER_ANSWERS);
      expect(sendError.written).toBe(true);
      expect(sendError.elapsedMs).toBeLessThan(timeoutMs);
      expect(sendError.message).toMatch(/closed/);
    }
    const stats = client.stats();
    expect(stats.pendingResponses).toBe(0);
    expect(stats.asyncPermits.available).toBe(100);
    await eventually(() => client.stats().channels === 0, 2000, 'the channel to be gone');
  });

  test('the table is empty after a mixed load of answers, timeouts and failures', async () => {
    const { address, received, child } = await spawnChildServer();
    const client = newClient({ responseTableScan: { initialDelayMs: 20, intervalMs: 20, graceMs: 0 } });
    const timeouts = Array.from({ length: 10 }, () =>
      client.invokeAsync(address, RemotingCommand.createRequest(NEVER_ANSWERS), 100).catch((e: unknown) => e),
    );
    const unsupported = Array.from({ length: 10 }, () =>
      client.invokeAsync(address, RemotingCommand.createRequest(999), 5000),
    );
    const answered = await Promise.all(unsupported);
    expect(answered.every((r) => r.code === 3)).toBe(true);
    const timedOut = await Promise.all(timeouts);
    expect(timedOut.every((e) => (e as { code?: string }).code === 'REMOTING_TIMEOUT')).toBe(true);
    const failing = Array.from({ length: 10 }, () =>
      client
        .invokeAsync(address, RemotingCommand.createRequest(NEVER_ANSWERS), 5000)
        .catch((e: unknown) => e),
    );
    await eventually(() => received() === 20, 5000, 'the child to receive the last requests');
    child.kill('SIGKILL');
    const failed = await Promise.all(failing);
    expect(failed.every((e) => e instanceof RemotingSendRequestError)).toBe(true);
    const stats = client.stats();
    expect(stats.pendingResponses).toBe(0);
    expect(stats.asyncPermits.available).toBe(stats.asyncPermits.total);
  });
});
