/**
 * A client in another process floods the server with oneway 16 KiB requests
 * as fast as it can, faster than the server's processor drains them, until
 * the server has stopped reading it and other calls have gone on meanwhile.
 * The Java implementation dies here of direct-buffer exhaustion: it keeps
 * reading and queueing. Ours must hold read back-pressure: once a
 * connection's queued requests pass maxPendingRequestBytesPerChannel the
 * server stops reading it, so the flood waits in the kernel and in the
 * flooder, not in the server's memory. Meanwhile another client's sync calls
 * on their own connection keep succeeding.
 *
 * The server runs in this process; live memory (heap + external, measured
 * right after a forced GC so uncollected garbage is not counted) is sampled
 * throughout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { EchoCode, newClient, onCleanup, sleep, startEchoServer } from './helpers/servers.js';
import { childEntry } from './support/child-entry.js';

/** The flooder stops by itself after this: a guard against a hang, not the test's length. */
const FLOOD_MAX_MS = 90_000;
/** Sync calls that must succeed on their own connection while the flood goes on. */
const SYNC_CALLS_DURING_FLOOD = 20;
/** Samples (one per SAMPLE_MS) that must find the flooding connection read-paused. */
const PAUSED_SAMPLES_WANTED = 5;
const SAMPLE_MS = 200;
const ONEWAY_CODE = 60;
/** The server's cap on one connection's queued request bytes (its default). */
const MAX_PENDING_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * Live-memory growth the server may show. What it legitimately holds for the
 * flooding connection: up to 8 MiB of queued requests (the cap above, each
 * 16 KiB body plus overhead) and the read chunks those bodies are views of
 * (a 64 KiB chunk stays alive while any request in it waits: up to ~2x),
 * plus the socket's read buffer and the sync client's few bytes: ~16-20 MiB.
 * 48 MiB leaves room for V8's own heap noise. Without read back-pressure the
 * server reads the flood as fast as it arrives (hundreds of MB/s on
 * loopback) and queues up to its executor's 10 000 tasks: ~160 MiB.
 */
const MEMORY_GROWTH_BOUND_BYTES = 48 * 1024 * 1024;

/** The process's gc(), exposed at run time (vitest's workers are not started with --expose-gc). */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function liveBytes(gc: () => void): { live: number; rss: number } {
  gc();
  const usage = process.memoryUsage();
  return { live: usage.heapUsed + usage.external, rss: usage.rss };
}

function spawnFlooder(address: string): ChildProcess {
  // Its stdin is how the test says "enough": the flooder stops when it ends.
  const child = spawn(
    process.execPath,
    [...childEntry('oneway-flooder'), address, String(ONEWAY_CODE), String(FLOOD_MAX_MS)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

interface FloodReport {
  sent: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  bodyBytes: number;
}

test('a oneway flood from another process leaves server memory bounded while other calls succeed', async () => {
  const { server, address } = await startEchoServer({
    maxPendingRequestBytesPerChannel: MAX_PENDING_REQUEST_BYTES,
  });
  // Slower than the flood on purpose: 4 at a time, ~2 ms each, so requests pile up.
  let received = 0;
  let receivedBytes = 0;
  server.registerProcessor(
    ONEWAY_CODE,
    {
      processRequest: async (_ctx, request) => {
        received += 1;
        receivedBytes += request.body?.length ?? 0;
        await sleep(2);
        return null;
      },
    },
    { concurrency: 4 },
  );
  const gc = exposeGc();
  const syncClient = newClient();
  await syncClient.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const baseline = liveBytes(gc);

  const child = spawnFlooder(address);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let childDone = false;
  void exited.then(() => {
    childDone = true;
  });
  onCleanup(() => {
    childDone = true;
  });

  // Sync calls on their own connection, throughout the flood. Their timeout is
  // generous: that they are answered is the claim, not how fast on a busy machine.
  let syncOk = 0;
  const syncFailures: string[] = [];
  let syncMaxMs = 0;
  const syncLoop = (async () => {
    while (!childDone) {
      const started = performance.now();
      try {
        const response = await syncClient.invokeSync(
          address,
          RemotingCommand.createRequest(EchoCode.ECHO).setBody(`sync ${syncOk}`),
          30_000,
        );
        expect(response.body?.toString()).toBe(`sync ${syncOk}`);
        syncOk += 1;
      } catch (error) {
        syncFailures.push(String(error));
      }
      syncMaxMs = Math.max(syncMaxMs, performance.now() - started);
      await sleep(20);
    }
  })();

  let maxGrowth = 0;
  let maxRssGrowth = 0;
  let pausedSamples = 0;
  let samples = 0;
  // Sample memory until the server has held the flood back for a while and the
  // sync calls went on meanwhile; then tell the flooder to stop.
  while (!childDone && (pausedSamples < PAUSED_SAMPLES_WANTED || syncOk < SYNC_CALLS_DURING_FLOOD)) {
    await sleep(SAMPLE_MS);
    const now = liveBytes(gc);
    maxGrowth = Math.max(maxGrowth, now.live - baseline.live);
    maxRssGrowth = Math.max(maxRssGrowth, now.rss - baseline.rss);
    samples += 1;
    if (server.connections().some((channel) => channel.isReadPaused)) pausedSamples += 1;
  }
  const floodedUntilTold = !childDone;
  child.stdin?.end();
  const exitCode = await exited;
  await syncLoop;

  expect(exitCode, `flooder failed: ${stderr}`).toBe(0);
  expect(floodedUntilTold, `the flooder stopped by itself after ${FLOOD_MAX_MS} ms: ${stdout}`).toBe(true);
  const report = JSON.parse(stdout.trim().split('\n').at(-1) as string) as FloodReport;
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.info(
    `oneway flood: flooder sent ${report.sent} x 16 KiB (${mib(report.sent * report.bodyBytes)} MiB) in ` +
      `${Math.round(report.elapsedMs)} ms, ${report.failed} failed; server received ${received} ` +
      `(${mib(receivedBytes)} MiB) by the end of the flood; server live memory grew at most ` +
      `${mib(maxGrowth)} MiB (bound ${mib(MEMORY_GROWTH_BOUND_BYTES)}), RSS at most ${mib(maxRssGrowth)} MiB; ` +
      `flooding connection read-paused in ${pausedSamples}/${samples} samples; ` +
      `${syncOk} sync calls ok, slowest ${Math.round(syncMaxMs)} ms`,
  );

  // More than the server may queue for one connection: the flood outran the processor.
  expect(report.sent * report.bodyBytes, 'the flooder must actually have flooded').toBeGreaterThan(
    MAX_PENDING_REQUEST_BYTES,
  );
  expect(syncFailures).toEqual([]);
  expect(syncOk).toBeGreaterThanOrEqual(SYNC_CALLS_DURING_FLOOD);
  expect(received).toBeGreaterThan(0);
  expect(
    pausedSamples,
    'the server must have stopped reading the flooding connection',
  ).toBeGreaterThanOrEqual(PAUSED_SAMPLES_WANTED);
  expect(maxGrowth).toBeLessThan(MEMORY_GROWTH_BOUND_BYTES);
});
