import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Counters and latency percentiles of one request code. Latencies in milliseconds. */
export interface CodeStatsSnapshot {
  /** Calls made, or requests served, that ended. */
  count: number;
  /** Of those, the ones that ended in an error (calls) or a SYSTEM_ERROR/SYSTEM_BUSY answer or processor failure (requests). */
  errors: number;
  /** Latency percentiles in milliseconds (microsecond resolution), from perf_hooks histograms. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

class CodeEntry {
  count = 0;
  errors = 0;
  readonly latencyUs: RecordableHistogram = createHistogram();
}

/**
 * Per-request-code counters and latency histograms. Recording is a map lookup,
 * two additions and one histogram record, cheap enough for every call.
 */
export class CodeStats {
  private readonly byCode = new Map<number, CodeEntry>();

  /** Records one ended call or request of `code` that took `durationMs`. */
  record(code: number, durationMs: number, failed: boolean): void {
    let entry = this.byCode.get(code);
    if (entry === undefined) {
      entry = new CodeEntry();
      this.byCode.set(code, entry);
    }
    entry.count += 1;
    if (failed) entry.errors += 1;
    // Histograms take integers >= 1: record microseconds.
    entry.latencyUs.record(Math.max(1, Math.round(durationMs * 1000)));
  }

  /** A snapshot keyed by request code. */
  snapshot(): Record<number, CodeStatsSnapshot> {
    const out: Record<number, CodeStatsSnapshot> = {};
    for (const [code, entry] of this.byCode) {
      const h = entry.latencyUs;
      out[code] = {
        count: entry.count,
        errors: entry.errors,
        p50Ms: h.percentile(50) / 1000,
        p90Ms: h.percentile(90) / 1000,
        p99Ms: h.percentile(99) / 1000,
        maxMs: h.max / 1000,
      };
    }
    return out;
  }
}
