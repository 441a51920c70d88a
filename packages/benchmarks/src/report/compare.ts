/** Ratios of a result against the baselines measured with the same shape in the same run. */
import { medianOrNull } from '../stats.js';
import type { BenchResult, ImplName } from '../types.js';

export function baselineFor(
  result: BenchResult,
  results: readonly BenchResult[],
  baseline: ImplName,
): BenchResult | undefined {
  if (result.suite !== 'invoke') return undefined;
  return results.find(
    (r) =>
      r.suite === 'invoke' &&
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
  return base === undefined || base.reqPerSec === 0 ? null : result.reqPerSec / base.reqPerSec;
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
