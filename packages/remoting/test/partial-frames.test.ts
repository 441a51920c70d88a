/**
 * Frames that arrive slowly: the server holds only what has arrived (never a
 * frame's whole declared size up front), and all connections together hold
 * at most `maxPartialFrameBytesTotal`. Past it, the connection holding the
 * most is closed with a protocol error saying why; the others keep going.
 */
import { describe, expect, test } from 'vitest';
import {
  type Channel,
  DEFAULT_MAX_FRAME_BYTES,
  PartialFramesOverBudgetError,
  RemotingCommand,
  type RemotingServer,
} from '../src/index.js';
import { connectRaw, EchoCode, eventually, newClient, startEchoServer } from './helpers/servers.js';

const MiB = 1024 * 1024;

function writeAll(peer: { socket: import('node:net').Socket }, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    peer.socket.write(bytes, (error) => (error ? reject(error) : resolve())),
  );
}

/** Bytes of unfinished frames the server has read, over all its connections (from each decoder). */
function unfinishedFrameBytesRead(server: RemotingServer): number {
  return server
    .connections()
    .reduce(
      (sum, channel) =>
        sum + (channel as unknown as { decoder: { bufferedBytes: number } }).decoder.bufferedBytes,
      0,
    );
}

function echoFrame(bodyBytes: number, fill: number): Buffer {
  return RemotingCommand.createRequest(EchoCode.ECHO).setBody(Buffer.alloc(bodyBytes, fill)).encode();
}

describe('partial frames on a real server', () => {
  test('connections that announce 16 MiB frames and send a few bytes reserve little memory', async () => {
    const { server, address } = await startEchoServer();
    const announce = Buffer.alloc(12);
    announce.writeInt32BE(DEFAULT_MAX_FRAME_BYTES - 4, 0);
    announce.writeInt32BE(200, 4);
    const before = process.memoryUsage().arrayBuffers;
    const peers = [];
    for (let i = 0; i < 60; i++) {
      const peer = await connectRaw(address);
      await writeAll(peer, announce);
      peers.push(peer);
    }
    // Until the server has read every announcement.
    await eventually(
      () => unfinishedFrameBytesRead(server) === peers.length * announce.length,
      5000,
      'the server to hold every announcement',
    );
    const grown = process.memoryUsage().arrayBuffers - before;
    // Reserving each declared frame would be 60 × 16 MiB = 960 MiB; growing as bytes come is 60 × 64 KiB.
    expect(grown).toBeLessThan(60 * MiB);
    for (const peer of peers) expect(peer.socket.destroyed).toBe(false);
  });

  test('past the server-wide cap the connection holding the most is closed, with a protocol error saying why', async () => {
    const exceptions: Array<{ remote: string; error: Error }> = [];
    const { server, address } = await startEchoServer({
      maxPartialFrameBytesTotal: 8 * MiB,
      channelEventListener: {
        onChannelException: (remote: string, _channel: Channel | null, error: Error) =>
          exceptions.push({ remote, error }),
      },
    });
    const small = [echoFrame(Math.round(1.5 * MiB), 0x62), echoFrame(Math.round(1.5 * MiB), 0x63)];
    const smallPeers = [await connectRaw(address), await connectRaw(address)];
    for (let i = 0; i < 2; i++) await writeAll(smallPeers[i]!, small[i]!.subarray(0, MiB));
    await eventually(
      () => unfinishedFrameBytesRead(server) === 2 * MiB,
      5000,
      'the server to read both starts',
    );

    const big = await connectRaw(address);
    const bigAddress = `127.0.0.1:${big.socket.localPort}`;
    const bigFrame = echoFrame(10 * MiB, 0x61);
    await writeAll(big, bigFrame.subarray(0, 7 * MiB)).catch(() => {});
    await big.closed;

    await eventually(() => exceptions.length > 0, 5000, 'the exception event');
    const { remote, error } = exceptions[0]!;
    expect(remote).toBe(bigAddress);
    expect(error).toBeInstanceOf(PartialFramesOverBudgetError);
    expect((error as PartialFramesOverBudgetError).code).toBe('REMOTING_PROTOCOL');
    expect(error.message).toContain('unfinished frame');
    expect(error.message).toContain('maxPartialFrameBytesTotal 8388608');
    const over = error as PartialFramesOverBudgetError;
    expect(over.heldBytes).toBeGreaterThanOrEqual(4 * MiB);
    expect(over.totalHeldBytes).toBeGreaterThan(8 * MiB);
    expect(exceptions).toHaveLength(1);

    // The smaller senders lost nothing: their frames complete and are answered.
    for (let i = 0; i < 2; i++) {
      const peer = smallPeers[i]!;
      expect(peer.socket.destroyed).toBe(false);
      await writeAll(peer, small[i]!.subarray(MiB));
      await eventually(() => peer.commands.length === 1, 5000, 'the echo of a completed frame');
      expect(peer.commands[0]!.body?.length).toBe(Math.round(1.5 * MiB));
      expect(peer.commands[0]!.body?.[0]).toBe(0x62 + i);
    }
    // And the server keeps serving new clients.
    const response = await newClient().invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO).setBody('still here'),
      3000,
    );
    expect(response.body?.toString()).toBe('still here');
  });

  test('frames completed in turn never add up against the cap', async () => {
    const exceptions: Error[] = [];
    const { address } = await startEchoServer({
      maxPartialFrameBytesTotal: 2 * MiB,
      channelEventListener: { onChannelException: (_r, _c, error) => exceptions.push(error) },
    });
    const peer = await connectRaw(address);
    // Ten 1.5 MiB frames, each sent in pieces: one partial frame at a time stays under 2 MiB.
    for (let i = 0; i < 10; i++) {
      const frame = echoFrame(Math.round(1.5 * MiB), i);
      for (let at = 0; at < frame.length; at += 256 * 1024) {
        await writeAll(peer, frame.subarray(at, Math.min(frame.length, at + 256 * 1024)));
      }
    }
    await eventually(() => peer.commands.length === 10, 10_000, 'ten echoes');
    expect(peer.commands.map((c) => c.body?.[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(exceptions).toEqual([]);
  });

  test('the cap must be positive', async () => {
    await expect(startEchoServer({ maxPartialFrameBytesTotal: 0 })).rejects.toThrow(
      'maxPartialFrameBytesTotal must be positive',
    );
  });
});
