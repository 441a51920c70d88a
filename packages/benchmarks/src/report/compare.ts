/** Ratios of a result against the baselines measured with the same shape in the same run. */
import { medianOrNull } from '../stats.js';
import { notSteadyReason } from '../steadiness.js';
import type { BenchResult, ImplName } from '../types.js';

export function baselineFor(
  result: BenchResult,
  results: readonly BenchResult[],
  baseline: ImplName,
): BenchResult | undefined {
  if (result.suite !== 'invoke' && result.suite !== 'cluster') return undefined;
  return results.find(
    (r) =>
      r.suite === result.suite &&
      r.serverWorkers === result.serverWorkers &&
      r.impl === baseline &&
      r.mode === result.mode &&
      r.bodyBytes === result.bodyBytes &&
      r.inflight === result.inflight &&
      r.connections === result.connections,
  );
}

/** reqPerSec of `result` over the baseline's; null for the baseline itself or when it was not measured. */
export function throughputRatio(
  result: BenchResult,
  results: readonly BenchResult[],
  baseline: ImplName,
): number | null {
  if (result.impl === baseline) return null;
  const base = baselineFor(result, results, baseline);
  if (base === undefined || unjudgeableReason(base) !== null || unjudgeableReason(result) !== null)
    return null;
  return result.reqPerSec / base.reqPerSec;
}

/**
 * A cluster row's throughput over the same implementation's with one server
 * worker, same shape, same run: how it scales. Null for the one-worker row
 * itself and when either is missing or too thin to judge.
 */
export function workerScaling(result: BenchResult, results: readonly BenchResult[]): number | null {
  if (result.suite !== 'cluster' || result.serverWorkers === undefined || result.serverWorkers === 1)
    return null;
  const single = results.find(
    (r) =>
      r.suite === 'cluster' &&
      r.serverWorkers === 1 &&
      r.impl === result.impl &&
      r.serialize === result.serialize &&
      r.mode === result.mode &&
      r.bodyBytes === result.bodyBytes &&
      r.inflight === result.inflight &&
      r.connections === result.connections,
  );
  if (single === undefined || unjudgeableReason(single) !== null || unjudgeableReason(result) !== null)
    return null;
  return result.reqPerSec / single.reqPerSec;
}

/** Median client and server CPU µs per operation over the runs; "" when not measured. */
export function formatCpuPerOp(result: BenchResult): string {
  const client = medianOrNull(result.runs.map((r) => r.clientCpuUsPerOp ?? null));
  const server = medianOrNull(result.runs.map((r) => r.serverCpuUsPerOp ?? null));
  if (client === null && server === null) return '';
  const show = (v: number | null) => (v === null ? '—' : v.toFixed(v < 10 ? 2 : 1));
  return `${show(client)} / ${show(server)}`;
}

/** "remoting-ts (JSON)", "raw-net": how a series is named in tables and legends. */
export function seriesName(result: Pick<BenchResult, 'impl' | 'serialize'>): string {
  return result.serialize === null ? result.impl : `${result.impl} (${result.serialize})`;
}

/**
 * Fewer completed operations than this in any run, and a result is too thin
 * to compare: a run that finished 0 calls would otherwise make every ratio
 * against it infinite (and "met").
 */
export const MIN_COMPLETED_PER_RUN = 100;

/**
 * Why `result` cannot be judged (a run with too few completed operations, or
 * a figure that is not steady state), or null when it can.
 */
export function unjudgeableReason(result: BenchResult): string | null {
  if (result.runs.length === 0) return `${seriesName(result)} has no runs`;
  const thin = result.runs.findIndex((r) => r.count < MIN_COMPLETED_PER_RUN);
  if (thin >= 0)
    return `${seriesName(result)} completed ${result.runs[thin]!.count} calls in run ${thin + 1} of ${result.runs.length} (at least ${MIN_COMPLETED_PER_RUN} per run needed)`;
  const unsteady = notSteadyReason(result);
  return unsteady === null ? null : `${seriesName(result)} ${unsteady}`;
}

/** Median client heap bytes per operation and GC share over the runs: "1,234 B / 2.5 %"; "" when not measured. */
export function formatAllocation(result: BenchResult): string {
  const bytes = medianOrNull(result.runs.map((r) => r.clientHeapBytesPerOp ?? null));
  const gc = medianOrNull(result.runs.map((r) => r.clientGcShare ?? null));
  if (bytes === null && gc === null) return '';
  const showBytes = bytes === null ? '—' : `${Math.round(bytes).toLocaleString('en-US')} B`;
  const showGc = gc === null ? '—' : `${(gc * 100).toFixed(1)} %`;
  return `${showBytes} / ${showGc}`;
}
