/**
 * A client that keeps asking but reads its answers slowly, 64 KiB at a time,
 * must not make the server buffer responses without bound: once the
 * connection's outbound buffer passes the high watermark the server stops
 * reading that client's requests, so the client's own socket backs up instead.
 */
import net from 'node:net';
import { expect, test } from 'vitest';
import { type Channel, FrameDecoder, RemotingCommand, ResponseCode } from '../src/index.js';
import { DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK } from '../src/transport/channel.js';
import { eventually, onCleanup, startServer } from './helpers/servers.js';

const READ_CHUNK_BYTES = 64 * 1024;
const READ_EVERY_MS = 10;
const REQUEST_BODY = Buffer.alloc(1024, 2);
const RESPONSE_BODY = Buffer.alloc(8 * 1024, 3);
/** The client keeps sending until the server has been seen holding its reads back this often. */
const PAUSED_SAMPLES_WANTED = 250;
/** A guard against a hang, not the run's length. */
const SEND_AT_MOST_MS = 60_000;

/**
 * What the server may hold for one connection: the high watermark, plus the
 * responses to the requests it had already read when the watermark tripped.
 * One socket read is at most 64 KiB, i.e. ~62 requests of ~1.1 KiB, each
 * answered with ~8.1 KiB: ~0.5 MiB. 2 MiB leaves room for a second read that
 * landed in the same tick. Without read back-pressure the server would read
 * everything the client sends (tens of MB a second, each byte answered with
 * eight) and this grows past 2 MiB within a fraction of the run.
 */
const BOUND_BYTES = 2 * 1024 * 1024;

/** Resolves on the socket's 'drain' or after `ms`, whichever first, leaving no listener behind. */
function drainedOrAWhile(socket: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('drain', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('drain', done);
  });
}

test('a slow 64 KiB-per-read client does not make the server buffer its responses without bound', async () => {
  const { server, address } = await startServer();
  const CODE = 50;
  let processed = 0;
  server.registerProcessor(CODE, {
    processRequest: () => {
      processed += 1;
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(RESPONSE_BODY);
    },
  });

  // A raw client whose reads land 64 KiB at a time in one reused buffer; after
  // each read it stops reading for READ_EVERY_MS.
  const decoder = new FrameDecoder();
  let responses = 0;
  let readsLargerThanChunk = 0;
  let slow = true;
  let resumeTimer: NodeJS.Timeout | undefined;
  const port = Number(address.split(':')[1]);
  const client: net.Socket = net.connect({
    host: '127.0.0.1',
    port,
    onread: {
      buffer: Buffer.alloc(READ_CHUNK_BYTES),
      callback: (bytes, buffer) => {
        if (bytes > READ_CHUNK_BYTES) readsLargerThanChunk += 1;
        for (const response of decoder.push(Buffer.from(buffer.subarray(0, bytes)))) {
          expect(response.code).toBe(ResponseCode.SUCCESS);
          expect(response.body?.length).toBe(RESPONSE_BODY.length);
          responses += 1;
        }
        if (!slow) return true;
        resumeTimer = setTimeout(() => client.resume(), READ_EVERY_MS);
        return false;
      },
    },
  });
  onCleanup(() => {
    clearTimeout(resumeTimer);
    client.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  await eventually(() => server.connections().length === 1, 5000, 'the server to adopt the connection');
  const channel = server.connections()[0] as Channel;

  let maxBuffered = 0;
  let pausedSamples = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    maxBuffered = Math.max(maxBuffered, channel.bufferedBytes);
    samples += 1;
    if (channel.isReadPaused) pausedSamples += 1;
  }, 2);
  onCleanup(() => clearInterval(sampler));
  channel.on('writabilityChanged', () => {
    maxBuffered = Math.max(maxBuffered, channel.bufferedBytes);
  });

  // The client sends as fast as its own socket takes requests, until the server
  // has held its reads back for a while (a condition, not a duration: a loaded
  // machine gets there later).
  let sent = 0;
  const giveUpAt = performance.now() + SEND_AT_MOST_MS;
  while (pausedSamples < PAUSED_SAMPLES_WANTED) {
    if (performance.now() > giveUpAt)
      throw new Error(`the server paused reading in only ${pausedSamples} of ${samples} samples`);
    const accepted = client.write(RemotingCommand.createRequest(CODE).setBody(REQUEST_BODY).encode());
    sent += 1;
    if (!accepted) {
      await drainedOrAWhile(client, 20);
    } else if (sent % 64 === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  clearInterval(sampler);
  const processedWhileSlow = processed;

  console.info(
    `slow reader: sent ${sent} requests, server processed ${processedWhileSlow} while the client read slowly; ` +
      `server buffered at most ${maxBuffered} bytes (bound ${BOUND_BYTES}); read paused in ${pausedSamples}/${samples} samples`,
  );
  expect(readsLargerThanChunk).toBe(0);
  expect(maxBuffered).toBeGreaterThan(DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK);
  expect(maxBuffered).toBeLessThan(BOUND_BYTES);
  expect(pausedSamples, 'the server must have stopped reading this client').toBeGreaterThan(0);
  expect(processedWhileSlow, 'the server must have left requests unread').toBeLessThan(sent);

  // Reading at full speed, the client gets an answer to every request it sent.
  slow = false;
  clearTimeout(resumeTimer);
  client.resume();
  await eventually(() => responses === sent, 20_000, `all ${sent} responses`);
  expect(processed).toBe(sent);
});
