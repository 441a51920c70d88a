/**
 * When a closed-loop figure describes steady state, and when it does not.
 *
 * With N callers in flight, a caller's calls take N / rate each; a window
 * that holds only a call or two per caller measures the pipeline filling or
 * draining, not the transport (grpc-js at 256 in flight showed 1,876 req/s
 * and a 189 ms p50 after a 0.125 s warm-up, a fraction of its steady rate).
 * So the warm-up lasts until the callers have cycled, and a window that
 * still holds few calls per caller is reported as not steady, never compared.
 */
import type { BenchResult } from './types.js';

/** The warm-up goes on until the callers have completed this many calls each, on average. */
export const WARMUP_CALLS_PER_CALLER = 20;

/** A measured window holding fewer calls per caller than this is too short for the case's latency. */
export const MIN_WINDOW_CALLS_PER_CALLER = 5;

/** Why `result` is not a steady-state figure, or null when it is (or the question does not apply). */
export function notSteadyReason(result: BenchResult): string | null {
  if (result.suite !== 'invoke' || result.mode === 'oneway') return null;
  const callers = result.inflight ?? 0;
  if (callers <= 0 || result.runs.length === 0) return null;
  const reasons: string[] = [];
  const warmup = result.runs[0]?.warmup;
  if (warmup !== undefined && warmup.callsPerCaller < WARMUP_CALLS_PER_CALLER) {
    reasons.push(
      `its warm-up hit its limit (${(warmup.ms / 1000).toFixed(1)} s) with ${warmup.callsPerCaller.toFixed(1)} calls per caller (${WARMUP_CALLS_PER_CALLER} wanted)`,
    );
  }
  const fewest = Math.min(...result.runs.map((run) => run.count / callers));
  if (fewest < MIN_WINDOW_CALLS_PER_CALLER) {
    const windowSec = result.runs[0]?.elapsedSec ?? 0;
    const latency = result.p50us === null ? '' : ` at a p50 of ${Math.round(result.p50us / 1000)} ms`;
    reasons.push(
      `a ${windowSec} s window held ${fewest.toFixed(1)} calls per caller${latency} (${MIN_WINDOW_CALLS_PER_CALLER} wanted): longer runs (--duration) measure it`,
    );
  }
  return reasons.length === 0 ? null : `not steady: ${reasons.join('; ')}`;
}
