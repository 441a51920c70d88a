/**
 * The measuring loops of the client process, shared by every implementation
 * so that only the transport differs between their figures.
 */
import { performance } from 'node:perf_hooks';
import { build, type Histogram } from 'hdr-histogram-js';
import type { EchoConnection } from '../impls/types.js';
import { WARMUP_CALLS_PER_CALLER } from '../steadiness.js';
import type { RunSample } from '../types.js';
import type { RunEdge } from './ipc.js';

/** Called at the start and the end of every measured run (never for the warm-up). */
export type MarkRun = (run: number, edge: RunEdge) => void;

/** Microseconds; a minute is far beyond any call that did not time out. */
function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function latencySample(histogram: Histogram, count: number, elapsedSec: number, errors: number): RunSample {
  const empty = histogram.totalCount === 0;
  return {
    reqPerSec: count / elapsedSec,
    count,
    elapsedSec,
    p50us: empty ? null : histogram.getValueAtPercentile(50),
    p99us: empty ? null : histogram.getValueAtPercentile(99),
    p999us: empty ? null : histogram.getValueAtPercentile(99.9),
    errors,
  };
}

export interface LoopSpec {
  mode: 'sync' | 'async';
  /** Total in flight over all connections (sync: one caller per connection). */
  inflight: number;
  /**
   * The least warm-up, in ms. It goes on until the callers have completed
   * WARMUP_CALLS_PER_CALLER calls each on average (steady state; see
   * steadiness.ts), up to `maxWarmupMs`.
   */
  warmupMs: number;
  /** The most warm-up, in ms (default: `warmupMs`, a fixed warm-up). */
  maxWarmupMs?: number;
  durationMs: number;
  repeat: number;
  mark?: MarkRun;
}

/** How a case was warmed up, reported on its first run. */
export interface WarmupFacts {
  /** Milliseconds from the first call to the start of the first measured window. */
  ms: number;
  /** Calls completed during the warm-up per caller (in flight), on average. */
  callsPerCaller: number;
}

/**
 * Splits one continuous stretch of calls into a warm-up and `repeat` measured
 * windows. A call counts in the window it completes in, with its latency. The
 * windows start when the warm-up ends, which the completions decide (see
 * WARMUP_CALLS_PER_CALLER), so their edges are known only then.
 */
class Windows {
  readonly counts: number[];
  readonly errors: number[];
  readonly histograms: Histogram[];
  measureStart = Number.POSITIVE_INFINITY;
  end = Number.POSITIVE_INFINITY;
  private warmupCalls = 0;
  private readonly warmupTarget: number;
  private readonly maxWarmupMs: number;
  private readonly forceStart: NodeJS.Timeout;
  private resolveMarked: () => void = () => {};

  /** Resolves once the last window's end has been marked. */
  readonly marked: Promise<void>;

  constructor(
    private readonly start: number,
    private readonly spec: LoopSpec,
  ) {
    this.counts = new Array<number>(spec.repeat).fill(0);
    this.errors = new Array<number>(spec.repeat).fill(0);
    this.histograms = Array.from({ length: spec.repeat }, newHistogram);
    this.marked = new Promise((resolve) => {
      this.resolveMarked = resolve;
    });
    this.warmupTarget = WARMUP_CALLS_PER_CALLER * spec.inflight;
    this.maxWarmupMs = Math.max(spec.warmupMs, spec.maxWarmupMs ?? spec.warmupMs);
    // The least warm-up passes with no completion to look at when the target is met already
    // (or there is no warm-up); the most, when the calls stall.
    const checkAt = this.warmupTarget === 0 ? spec.warmupMs : this.maxWarmupMs;
    this.forceStart = setTimeout(() => this.beginMeasuring(performance.now()), checkAt);
    if (spec.warmupMs === 0 && this.maxWarmupMs === 0) this.beginMeasuring(start);
  }

  /** What the warm-up was, once measuring has begun. */
  warmup(): WarmupFacts {
    return {
      ms: this.measureStart - this.start,
      callsPerCaller: this.spec.inflight > 0 ? this.warmupCalls / this.spec.inflight : 0,
    };
  }

  private beginMeasuring(now: number): void {
    if (this.measureStart !== Number.POSITIVE_INFINITY) return;
    clearTimeout(this.forceStart);
    this.measureStart = now;
    this.end = now + this.spec.repeat * this.spec.durationMs;
    this.scheduleMarks();
  }

  /** Boundary k ends run k - 1 and starts run k; timers, because no call may happen to complete there. */
  private scheduleMarks(): void {
    const mark = this.spec.mark;
    for (let k = 0; k <= this.spec.repeat; k++) {
      const at = this.measureStart + k * this.spec.durationMs - performance.now();
      setTimeout(
        () => {
          if (mark !== undefined) {
            if (k > 0) mark(k - 1, 'end');
            if (k < this.spec.repeat) mark(k, 'start');
          }
          if (k === this.spec.repeat) this.resolveMarked();
        },
        Math.max(0, at),
      );
    }
  }

  private index(now: number): number {
    if (now < this.measureStart || now >= this.end) return -1;
    return Math.min(this.spec.repeat - 1, Math.floor((now - this.measureStart) / this.spec.durationMs));
  }

  completed(sent: number, now: number): void {
    if (this.measureStart === Number.POSITIVE_INFINITY) {
      this.warmupCalls++;
      const elapsed = now - this.start;
      if (
        elapsed >= this.maxWarmupMs ||
        (elapsed >= this.spec.warmupMs && this.warmupCalls >= this.warmupTarget)
      )
        this.beginMeasuring(now);
      return;
    }
    const w = this.index(now);
    if (w < 0) return;
    this.counts[w]!++;
    this.histograms[w]!.recordValue(Math.max(1, Math.round((now - sent) * 1000)));
  }

  failed(now: number): void {
    const w = this.index(now);
    if (w >= 0) this.errors[w]!++;
  }

  samples(): RunSample[] {
    const seconds = this.spec.durationMs / 1000;
    const samples = this.counts.map((count, w) =>
      latencySample(this.histograms[w]!, count, seconds, this.errors[w]!),
    );
    if (samples[0] !== undefined) samples[0].warmup = this.warmup();
    return samples;
  }
}

/**
 * Closed-loop request/response: `inflight` callers, caller i on connection
 * i mod n, each issuing its next call when the previous one completes. The
 * loop runs without a break through the warm-up and every measured window, so
 * a window sees the steady state rather than a pipeline filling up (with 1024
 * in flight on a slow implementation the first answers can take longer than a
 * short window). After the last window callers stop and the stragglers drain.
 */
export function runRequestResponse(connections: EchoConnection[], spec: LoopSpec): Promise<RunSample[]> {
  return spec.mode === 'sync' ? runSync(connections, spec) : runAsync(connections, spec);
}

async function runSync(connections: EchoConnection[], spec: LoopSpec): Promise<RunSample[]> {
  const windows = new Windows(performance.now(), spec);
  await Promise.all(
    connections.map(async (connection) => {
      for (;;) {
        const sent = performance.now();
        if (sent >= windows.end) return;
        try {
          await connection.callSync();
          windows.completed(sent, performance.now());
        } catch {
          windows.failed(performance.now());
        }
      }
    }),
  );
  await windows.marked;
  return windows.samples();
}

function runAsync(connections: EchoConnection[], spec: LoopSpec): Promise<RunSample[]> {
  const windows = new Windows(performance.now(), spec);
  let active = spec.inflight;
  return new Promise((resolve) => {
    const issue = (connection: EchoConnection): void => {
      const sent = performance.now();
      connection.call((error) => {
        const now = performance.now();
        if (error === null) windows.completed(sent, now);
        else windows.failed(now);
        if (now < windows.end) issue(connection);
        else if (--active === 0) windows.marked.then(() => resolve(windows.samples()));
      });
    };
    for (let i = 0; i < spec.inflight; i++) issue(connections[i % connections.length]!);
  });
}

/**
 * Oneway, measured the same way for every implementation that has it: ask the
 * server for its count, send for the duration on every connection (each
 * transport's own back-pressure paces it), then ask each connection for the
 * count again. Each answer travels behind that connection's messages, and the
 * count only grows, so the largest answer covers every message sent.
 * Rate = messages the server received / time from the start until that last
 * answer: a sent-and-received rate, never a "queued locally" rate.
 */
export async function runOneway(
  connections: EchoConnection[],
  durationMs: number,
  marks?: { run: number; mark: MarkRun },
): Promise<RunSample> {
  const first = connections[0]!;
  if (first.sendOnewayUntil === undefined || first.onewayReceived === undefined) {
    throw new Error('this implementation has no oneway call');
  }
  const before = await first.onewayReceived();
  marks?.mark(marks.run, 'start');
  const start = performance.now();
  const deadline = start + durationMs;
  const shouldStop = (): boolean => performance.now() >= deadline;
  const sentPerConnection = await Promise.all(connections.map((c) => c.sendOnewayUntil!(shouldStop)));
  const after = Math.max(...(await Promise.all(connections.map((c) => c.onewayReceived!()))));
  const elapsedSec = (performance.now() - start) / 1000;
  marks?.mark(marks.run, 'end');
  const sent = sentPerConnection.reduce((a, b) => a + b, 0);
  const received = after - before;
  return {
    reqPerSec: received / elapsedSec,
    count: received,
    elapsedSec,
    p50us: null,
    p99us: null,
    p999us: null,
    // Sent but never counted: dropped by the server (e.g. a full executor), not just slow.
    errors: Math.max(0, sent - received),
  };
}
