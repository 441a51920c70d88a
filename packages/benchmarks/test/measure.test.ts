/**
 * The measuring loops against fake connections with a known latency: the
 * windows, the counts and the oneway arithmetic, with no sockets involved.
 */
import { describe, expect, test } from 'vitest';
import { runOneway, runRequestResponse } from '../src/harness/measure.js';
import type { EchoConnection } from '../src/impls/types.js';
import { WARMUP_CALLS_PER_CALLER } from '../src/steadiness.js';

function delayedConnection(latencyMs: number): EchoConnection & { calls: number } {
  const connection = {
    calls: 0,
    call(done: (error: Error | null) => void) {
      connection.calls++;
      setTimeout(() => done(null), latencyMs);
    },
    callSync() {
      return new Promise<void>((resolve) => connection.call(() => resolve()));
    },
    close: () => Promise.resolve(),
  };
  return connection;
}

describe('request/response windows', () => {
  test('async: every window counts completions and records their latency', async () => {
    const connection = delayedConnection(2);
    const runs = await runRequestResponse([connection], {
      mode: 'async',
      inflight: 8,
      warmupMs: 30,
      durationMs: 60,
      repeat: 2,
    });
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.count).toBeGreaterThan(0);
      expect(run.elapsedSec).toBe(0.06);
      expect(run.reqPerSec).toBeCloseTo(run.count / 0.06);
      expect(run.p50us).toBeGreaterThanOrEqual(1500);
      expect(run.p999us!).toBeGreaterThanOrEqual(run.p50us!);
      expect(run.errors).toBe(0);
    }
    // The warm-up's calls were made but are in no window.
    expect(connection.calls).toBeGreaterThan(runs[0]!.count + runs[1]!.count);
  });

  test('the warm-up goes on past its least length until every caller has cycled 20 times', async () => {
    // 8 callers at 10 ms a call: 20 calls each take at least 200 ms, four times the least warm-up.
    const connection = delayedConnection(10);
    const runs = await runRequestResponse([connection], {
      mode: 'async',
      inflight: 8,
      warmupMs: 50,
      maxWarmupMs: 60_000,
      durationMs: 30,
      repeat: 1,
    });
    const warmup = runs[0]!.warmup!;
    expect(warmup.callsPerCaller).toBeGreaterThanOrEqual(WARMUP_CALLS_PER_CALLER);
    expect(warmup.ms).toBeGreaterThanOrEqual(WARMUP_CALLS_PER_CALLER * 10 - 1);
    expect(runs[1]?.warmup).toBeUndefined();
  });

  test('the warm-up stops at its most even when the callers have not cycled, and says how far they got', async () => {
    // 100 ms a call against a 40 ms limit: no caller can have completed a call by then.
    const runs = await runRequestResponse([delayedConnection(100)], {
      mode: 'async',
      inflight: 4,
      warmupMs: 20,
      maxWarmupMs: 40,
      durationMs: 300,
      repeat: 1,
    });
    const warmup = runs[0]!.warmup!;
    expect(warmup.ms).toBeGreaterThanOrEqual(39);
    expect(warmup.callsPerCaller).toBeLessThan(WARMUP_CALLS_PER_CALLER);
  });

  test('marks the start and end of every run, never the warm-up', async () => {
    const marks: string[] = [];
    await runRequestResponse([delayedConnection(1)], {
      mode: 'async',
      inflight: 2,
      warmupMs: 20,
      durationMs: 20,
      repeat: 2,
      mark: (run, edge) => marks.push(`${run}:${edge}`),
    });
    expect(marks).toEqual(['0:start', '0:end', '1:start', '1:end']);
  });

  test('sync: one caller per connection, spread over every connection', async () => {
    const connections = [delayedConnection(1), delayedConnection(1)];
    const [run] = await runRequestResponse(connections, {
      mode: 'sync',
      inflight: 2,
      warmupMs: 0,
      durationMs: 50,
      repeat: 1,
    });
    expect(run!.count).toBeGreaterThan(0);
    expect(connections.every((c) => c.calls > 0)).toBe(true);
  });

  test('failed calls are counted as errors, not as completions', async () => {
    const failing: EchoConnection = {
      call: (done) => setTimeout(() => done(new Error('boom')), 1),
      callSync: () => Promise.reject(new Error('boom')),
      close: () => Promise.resolve(),
    };
    const [run] = await runRequestResponse([failing], {
      mode: 'async',
      inflight: 2,
      warmupMs: 0,
      durationMs: 30,
      repeat: 1,
    });
    expect(run!.count).toBe(0);
    expect(run!.errors).toBeGreaterThan(0);
    expect(run!.p50us).toBeNull();
  });
});

describe('oneway', () => {
  test('rate = what the server counted / time until its last answer; the rest are errors', async () => {
    let received = 1000; // left over from an earlier case: only the difference counts
    const connection: EchoConnection = {
      call: () => {},
      callSync: () => Promise.resolve(),
      async sendOnewayUntil(shouldStop) {
        let sent = 0;
        while (!shouldStop()) {
          sent += 10;
          received += 9; // the server lost one in ten
          await new Promise((resolve) => setImmediate(resolve));
        }
        return sent;
      },
      onewayReceived: () => Promise.resolve(received),
      close: () => Promise.resolve(),
    };
    const run = await runOneway([connection], 30);
    expect(run.count).toBeGreaterThan(0);
    expect(run.count % 9).toBe(0);
    expect(run.errors).toBe(run.count / 9);
    expect(run.reqPerSec).toBeCloseTo(run.count / run.elapsedSec);
    expect(run.elapsedSec).toBeGreaterThanOrEqual(0.03);
    expect(run.p50us).toBeNull();
  });
});
