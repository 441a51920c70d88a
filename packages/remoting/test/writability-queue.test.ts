/**
 * Calls that find their connection over the high watermark wait in a FIFO
 * queue and are released one at a time while the connection stays writable:
 * however many pile up behind a peer that stopped reading, the outbound
 * buffer stays within the high watermark plus one frame, and a call that
 * gives up while queued is never sent. `written: false` is a promise that
 * the peer never receives the request.
 */
import { describe, expect, test } from 'vitest';
import { type Channel, type RemotingClient, RemotingCommand, type RemotingError } from '../src/index.js';
import { DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK } from '../src/transport/channel.js';
import { newClient } from './helpers/servers.js';
import { type RawConnection, startRawServer } from './support/raw-server.js';

const BODY = Buffer.alloc(64 * 1024, 3);
// Enough bytes (32 MiB) that loopback kernel buffers (a few MB, autotuned) cannot absorb them all.
const CALLS = 500;
/** One frame of these calls: body plus header and prefix, generously. */
const FRAME_BYTES = BODY.length + 1024;

/**
 * A peer that reads nothing for `pauseMs`, then reads at about `bytesPerMs`
 * and answers every request it decodes.
 */
async function stalledThenSlowPeer(pauseMs: number, bytesPerMs: number) {
  const throttle = (connection: RawConnection) => {
    const socket = connection.socket;
    socket.pause();
    setTimeout(() => {
      socket.on('data', (chunk: Buffer) => {
        socket.pause();
        setTimeout(() => socket.resume(), Math.ceil(chunk.length / bytesPerMs));
      });
      socket.resume();
    }, pauseMs);
  };
  return startRawServer(throttle, (connection, request) => connection.respond(request.opaque));
}

/** The client's channel to the peer, and the largest outbound buffer it had, sampled every millisecond. */
async function watchChannel(
  client: RemotingClient,
): Promise<{ channel: Channel; maxBuffered: () => number }> {
  const channel = await new Promise<Channel>((resolve) => client.once('connect', (_remote, c) => resolve(c)));
  let max = 0;
  const sample = () => {
    max = Math.max(max, channel.bufferedBytes);
  };
  channel.on('writabilityChanged', sample);
  const timer = setInterval(sample, 1);
  channel.once('close', () => clearInterval(timer));
  return { channel, maxBuffered: () => max };
}

describe.each(['sync', 'async'] as const)('%s calls behind a peer that stopped reading', (mode) => {
  test('are released in order, keep the buffer within the high watermark plus one frame, and never lie about writing', async () => {
    const peer = await stalledThenSlowPeer(1000, 4000);
    // Kept open after a sync timeout, so every queued call meets its own deadline (RocketMQ's default would close it).
    const client = newClient({ permitsAsync: CALLS, closeSocketIfTimeout: false });
    const watching = watchChannel(client);
    const requests = Array.from({ length: CALLS }, () => RemotingCommand.createRequest(21).setBody(BODY));
    const outcomes = requests.map((request) => {
      const call =
        mode === 'sync'
          ? client.invokeSync(peer.address, request, 2500)
          : client.invokeAsync(peer.address, request, 2500);
      return call.then(
        () => ({ opaque: request.opaque, ok: true as const }),
        (error: RemotingError & { written?: boolean }) => ({
          opaque: request.opaque,
          ok: false as const,
          code: error.code,
          written: error.written,
        }),
      );
    });
    const { maxBuffered } = await watching;
    const results = await Promise.all(outcomes);

    // A fence: one more call on the same connection. The peer reads in order, so when it
    // has answered this one it has read everything written before it.
    const fence = RemotingCommand.createRequest(21);
    await client.invokeSync(peer.address, fence, 60_000);
    expect(peer.requests.at(-1)?.opaque).toBe(fence.opaque);

    const received = peer.requests.slice(0, -1).map((r) => r.opaque);
    const receivedSet = new Set(received);
    const unwrittenFailures = results.filter((r) => !r.ok && r.written === false);
    const succeeded = results.filter((r) => r.ok);
    const summary = JSON.stringify({
      succeeded: succeeded.length,
      unwritten: unwrittenFailures.length,
      failed: results.filter((r) => !r.ok).length,
      received: received.length,
    });
    expect(succeeded.length, summary).toBeGreaterThan(0);
    expect(unwrittenFailures.length, summary).toBeGreaterThan(0);
    for (const failure of unwrittenFailures) expect(receivedSet.has(failure.opaque)).toBe(false);
    for (const failure of results.filter((r) => !r.ok)) expect(failure.code).toBe('REMOTING_TIMEOUT');
    // First come, first written.
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(maxBuffered()).toBeLessThanOrEqual(DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK + FRAME_BYTES);
    const stats = client.stats();
    expect(stats.pendingResponses).toBe(0);
    expect(stats.writeWaiters).toEqual({ calls: 0, bytes: 0 });
    expect(stats.asyncPermits.available).toBe(stats.asyncPermits.total);
  });
});
