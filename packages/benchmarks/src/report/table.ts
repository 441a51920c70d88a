/** The terminal report: plain-text tables, widths fitted to their contents. */
import { formatBytes, formatCompact, formatInteger, formatMicros, formatRatio } from '../format.js';
import { spread } from '../stats.js';
import { notSteadyReason, WARMUP_CALLS_PER_CALLER } from '../steadiness.js';
import { describeJavaSyncReference } from '../suites/invoke-reference.js';
import type { BenchReport, BenchResult, GoalVerdict } from '../types.js';
import { formatAllocation, formatCpuPerOp, seriesName, throughputRatio, workerScaling } from './compare.js';
import { INDICATIVE_NOTE, verdictText } from './goals.js';

export type Align = 'left' | 'right';

/**
 * Renders rows under a header, each column as wide as its widest cell, numbers
 * right-aligned. A row that is null becomes a rule (a group separator).
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[] | null)[],
  align: readonly Align[],
): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row === null ? 0 : (row[i] ?? '').length))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map((row) => (row === null ? rule : line(row)))].join('\n');
}

function range(result: BenchResult): string {
  const s = spread(result.runs.map((r) => r.reqPerSec));
  return `${formatCompact(s.min)}–${formatCompact(s.max)}`;
}

function errorCount(result: BenchResult): string {
  const errors = result.runs.reduce((sum, r) => sum + r.errors, 0);
  return errors === 0 ? '' : formatInteger(errors);
}

export function invokeTable(results: readonly BenchResult[]): string {
  const invoke = results.filter((r) => r.suite === 'invoke');
  const rows: (string[] | null)[] = [];
  let previousShape = '';
  for (const r of invoke) {
    const shape = `${r.mode}/${r.bodyBytes}/${r.inflight}/${r.connections}`;
    if (previousShape !== '' && shape !== previousShape) rows.push(null);
    previousShape = shape;
    rows.push([
      r.mode,
      formatBytes(r.bodyBytes),
      String(r.inflight ?? ''),
      String(r.connections ?? ''),
      seriesName(r),
      formatInteger(r.reqPerSec),
      range(r),
      formatMicros(r.p50us),
      formatMicros(r.p99us),
      formatMicros(r.p999us),
      formatRatio(throughputRatio(r, results, 'raw-net')),
      r.mode === 'oneway' ? 'n/a' : formatRatio(throughputRatio(r, results, 'grpc-js')),
      formatCpuPerOp(r),
      formatAllocation(r),
      errorCount(r),
      notSteadyReason(r) === null ? '' : 'not steady',
    ]);
  }
  const table = renderTable(
    [
      'mode',
      'body',
      'in flight',
      'conns',
      'impl',
      'req/s',
      'min–max',
      'p50 µs',
      'p99 µs',
      'p99.9 µs',
      'vs raw-net',
      'vs grpc-js',
      'cpu µs/op c / s',
      'client heap/op / gc',
      'errors',
      'note',
    ],
    rows,
    [
      'left',
      'right',
      'right',
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ],
  );
  return [table, ...notSteadyLines(invoke)].join('\n');
}

/** Under the table: each not-steady row and why (its ratios are left out, "—"). */
export function notSteadyLines(results: readonly BenchResult[]): string[] {
  return results.flatMap((r) => {
    const reason = notSteadyReason(r);
    if (reason === null) return [];
    const what = `${seriesName(r)} ${r.mode}${r.mode === 'async' ? ` ×${r.inflight}` : ''}, ${formatBytes(r.bodyBytes)}, ${r.connections} conn`;
    return [`  ${what}: ${reason}; no ratio is taken against it`];
  });
}

/** The cluster suite: each row against raw-net at the same worker count, and against its own one-worker row. */
export function clusterTable(results: readonly BenchResult[]): string {
  const rows: (string[] | null)[] = [];
  let previousShape = '';
  for (const r of results.filter((result) => result.suite === 'cluster')) {
    const shape = `${r.mode}/${r.bodyBytes}/${r.inflight}/${r.connections}`;
    if (previousShape !== '' && shape !== previousShape) rows.push(null);
    previousShape = shape;
    rows.push([
      r.mode === 'async' ? `async ×${r.inflight}` : r.mode,
      formatBytes(r.bodyBytes),
      String(r.connections ?? ''),
      String(r.serverWorkers ?? ''),
      seriesName(r),
      formatInteger(r.reqPerSec),
      range(r),
      formatMicros(r.p50us),
      formatMicros(r.p99us),
      formatRatio(throughputRatio(r, results, 'raw-net')),
      formatRatio(workerScaling(r, results)),
      formatCpuPerOp(r),
      errorCount(r),
    ]);
  }
  return renderTable(
    [
      'mode',
      'body',
      'conns',
      'server workers',
      'impl',
      'req/s',
      'min–max',
      'p50 µs',
      'p99 µs',
      'vs raw-net',
      '2 / 1 workers',
      'cpu µs/op c / s',
      'errors',
    ],
    rows,
    [
      'left',
      'right',
      'right',
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ],
  );
}

export function codecTable(results: readonly BenchResult[]): string {
  const rows = results
    .filter((r) => r.suite === 'codec')
    .map((r) => [
      r.mode,
      r.serialize ?? '',
      formatBytes(r.bodyBytes),
      r.chunkBytes === undefined ? '' : formatBytes(r.chunkBytes),
      formatInteger(r.reqPerSec),
      range(r),
    ]);
  return renderTable(['case', 'serialize', 'body', 'chunks', 'ops/s', 'min–max'], rows, [
    'left',
    'left',
    'right',
    'right',
    'right',
    'right',
  ]);
}

export function goalsTable(goals: readonly GoalVerdict[]): string {
  // A missed goal shouts in a full run; a quick run's verdicts are hints.
  const verdict = (g: GoalVerdict) => (g.met === false && g.indicative !== true ? 'MISSED' : verdictText(g));
  return renderTable(
    ['goal', 'target', 'measured', 'verdict'],
    goals.map((g) => [g.name, g.target, g.measured, verdict(g)]),
    ['left', 'left', 'left', 'left'],
  );
}

/** "0.125–2.1 s warm-up (until each caller completed 20 calls)", or a fixed one. */
export function describeWarmup(s: BenchReport['settings']): string {
  if (s.maxWarmupSec === undefined || s.maxWarmupSec <= s.warmupSec) return `${s.warmupSec} s warm-up`;
  return `${s.warmupSec}–${s.maxWarmupSec} s warm-up (until each caller completed ${WARMUP_CALLS_PER_CALLER} calls)`;
}

/** `extraLines` go after the suite tables (the broker suite's, from broker-table.ts). */
export function renderTerminalReport(report: BenchReport, extraLines: readonly string[] = []): string {
  const m = report.machine;
  const s = report.settings;
  const parts: string[] = [
    `machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.nodeVersion}, ${m.platform}/${m.arch}, load ${m.loadAverage.join(' ')}`,
    `         ${m.note}`,
    `run:     ${s.quick ? 'quick' : 'full'}; workers via ${s.workers}; suites ${s.suites.join(', ')}; per case ${describeWarmup(s)}, ${s.repeat} × ${s.durationSec} s; figures are medians of the runs`,
  ];
  if (report.results.some((r) => r.suite === 'invoke')) parts.push('', 'invoke', invokeTable(report.results));
  if (report.results.some((r) => r.suite === 'invoke' && r.mode === 'sync'))
    parts.push(describeJavaSyncReference());
  if (report.results.some((r) => r.suite === 'cluster'))
    parts.push('', 'cluster (server workers under node:cluster)', clusterTable(report.results));
  if (report.results.some((r) => r.suite === 'codec')) parts.push('', 'codec', codecTable(report.results));
  parts.push(...extraLines);
  if (report.goals.length > 0) {
    const indicative = report.goals.some((g) => g.indicative === true);
    parts.push('', 'goals (reported, not asserted)');
    if (indicative) parts.push(INDICATIVE_NOTE);
    parts.push(goalsTable(report.goals));
  }
  if (report.skipped.length > 0) {
    parts.push('', 'not measured');
    parts.push(...summarizeSkipped(report).map((line) => `  ${line}`));
  }
  return `${parts.join('\n')}\n`;
}

/** Skipped cases grouped by reason: a quick run skips dozens of shapes for one reason. */
export function summarizeSkipped(report: Pick<BenchReport, 'skipped'>): string[] {
  const byReason = new Map<string, string[]>();
  for (const s of report.skipped) {
    const key = `${s.suite}${s.impl === '*' ? '' : ` ${s.impl}`}: ${s.reason}`;
    const list = byReason.get(key) ?? [];
    list.push(s.description);
    byReason.set(key, list);
  }
  return [...byReason].map(([key, descriptions]) =>
    descriptions.length > 6
      ? `${key} (${descriptions.length} shapes, e.g. ${descriptions.slice(0, 3).join('; ')})`
      : `${key}: ${descriptions.join('; ')}`,
  );
}
