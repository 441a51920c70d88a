import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Counters and latency percentiles of one request code. Latencies in milliseconds. */
export interface CodeStatsSnapshot {
  /** Calls made, or requests served, that ended. */
  count: number;
  /**
   * Of those, the ones that failed: calls that ended in an error; requests
   * whose processor threw or that were answered SYSTEM_ERROR or SYSTEM_BUSY.
   */
  errors: number;
  /** How many latencies the percentiles are computed from (see CodeStats: one call in 32 past 1,024). */
  latencySamples: number;
  /**
   * Median latency in milliseconds (microsecond resolution), from a perf_hooks
   * histogram of the sampled latencies. This and the other latencies are 0
   * while `latencySamples` is 0.
   */
  p50Ms: number;
  /** 90th percentile latency, in milliseconds. */
  p90Ms: number;
  /** 99th percentile latency, in milliseconds. */
  p99Ms: number;
  /** Largest sampled latency, in milliseconds; past 1,024 samples an unsampled slower one may exist. */
  maxMs: number;
}

/** Every latency is recorded until a code has this many samples; then one call in 32. */
const FULL_SAMPLES = 1024;
const SAMPLE_EVERY_MASK = 31;

class CodeEntry {
  count = 0;
  errors = 0;
  samples = 0;
  /** count & mask === 0 → take a latency sample. */
  mask = 0;
  readonly latencyUs: RecordableHistogram = createHistogram();
}

/**
 * Per-request-code counters and latency histograms (perf_hooks). Counting is
 * a map lookup and two additions. Reading the clock and recording into the
 * histogram cost about 50 ns and 150 ns (measured, Node 20), too much for
 * every call of a busy code: the first 1,024 latencies of a code are all
 * recorded, then one call in 32 (one in eight cost an async call about
 * 25 ns, 2 % of its CPU), which keeps percentiles of a busy code accurate (a
 * code called 10,000 times a second still adds 300 samples a second) and a
 * quiet code's complete.
 */
export class CodeStats {
  private readonly byCode = new Map<number, CodeEntry>();
  // Calls of one code come in runs: the last entry saves a map lookup.
  private lastCode = Number.NaN;
  private lastEntry: CodeEntry | null = null;

  /**
   * Counts one ended call or request of `code`. `startedAt` is its
   * performance.now() start, or a negative number when it was not timed
   * (see `wantsLatency`); when this call is sampled its latency is recorded.
   */
  record(code: number, failed: boolean, startedAt: number): void {
    const entry = this.entry(code);
    if (failed) entry.errors += 1;
    if ((entry.count & entry.mask) === 0 && startedAt >= 0) {
      // Histograms take integers >= 1: record microseconds.
      entry.latencyUs.record(Math.max(1, Math.round((performance.now() - startedAt) * 1000)));
      entry.samples += 1;
      if (entry.samples === FULL_SAMPLES) entry.mask = SAMPLE_EVERY_MASK;
    }
    entry.count += 1;
  }

  /** Whether the next `record(code, …)` will take a latency sample (so its start is worth timing). */
  wantsLatency(code: number): boolean {
    const entry = this.entry(code);
    return (entry.count & entry.mask) === 0;
  }

  /** A snapshot keyed by request code. */
  snapshot(): Record<number, CodeStatsSnapshot> {
    const out: Record<number, CodeStatsSnapshot> = {};
    for (const [code, entry] of this.byCode) {
      const h = entry.latencyUs;
      const sampled = entry.samples > 0;
      out[code] = {
        count: entry.count,
        errors: entry.errors,
        latencySamples: entry.samples,
        p50Ms: sampled ? h.percentile(50) / 1000 : 0,
        p90Ms: sampled ? h.percentile(90) / 1000 : 0,
        p99Ms: sampled ? h.percentile(99) / 1000 : 0,
        maxMs: sampled ? h.max / 1000 : 0,
      };
    }
    return out;
  }

  private entry(code: number): CodeEntry {
    if (code === this.lastCode) return this.lastEntry as CodeEntry;
    let entry = this.byCode.get(code);
    if (entry === undefined) {
      entry = new CodeEntry();
      this.byCode.set(code, entry);
    }
    this.lastCode = code;
    this.lastEntry = entry;
    return entry;
  }
}
